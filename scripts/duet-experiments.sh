#!/usr/bin/env bash
# duet-experiments.sh - the real-run figures of issue 29 (docs/ci-gate.md, "Duet: measured"): how well
# `harness ab --duet` holds on this machine. Run it on a QUIET machine: nothing else running.
#
#   scripts/duet-experiments.sh            # the useful subset: about 13 minutes on a 2-vCPU VM (see below)
#   FULL=1 scripts/duet-experiments.sh     # the full set: about 75 minutes
#   DURATION=1s WARMUP=0s AA_JOBS=1 POWER_JOBS=1 ROUNDS=2 INTERLEAVED_ROUNDS=2 CAL_RUNS=1 SIZE=128 OUT=/tmp/dx \
#     scripts/duet-experiments.sh          # a smoke test of the script itself: about 2 minutes; its figures mean nothing
#
# The workload is gemm on one thread, side by side: `gemm --set m=M --set n=SIZE --set k=SIZE --threads 1`,
# whose work grows with M, so a candidate with M 5% (10%) larger does 5% (10%) more FLOPs: a real, stable
# slowdown of known size. Each duet pair costs about DURATION + WARMUP + 4 s (both processes start and
# warm up at once); with the subset's DURATION=5s, WARMUP=1s about 10 s.
#   0. Calibration: the base, +5% and +10% sizes, each measured ALONE (no duet), CAL_RUNS (3) runs each,
#      interleaved: the slowdowns as measured, which the power figures are read against.
#   A. A/A: AA_JOBS (5) `ab --duet` jobs of ROUNDS (4) pairs, nothing changed (20 pairs): false alarms at
#      --threshold THRESHOLD (2%), and the CV of the per-pair B/A throughput ratio.
#   B. Noise: one interleaved `ab` (no --duet) of INTERLEAVED_ROUNDS (10) rounds, nothing changed: the CV of
#      the per-round B/A throughput ratio, against A's duet CV (same machine, same hour).
#   C. Power: POWER_JOBS (5) `ab --duet` jobs of ROUNDS pairs for +5% and as many for +10%: the share found
#      (exit 1) at --threshold THRESHOLD; and the machine time per verdict.
# Subset: 9 + 20 + 20 + 40 pair-slots of about 7-10 s = about 13 minutes. FULL=1: DURATION=10s, WARMUP=2s,
# AA_JOBS=20 (80 pairs), INTERLEAVED_ROUNDS=20, POWER_JOBS=20: about 75 minutes.
# Everything goes under $OUT (default results/<this machine's label>/gate-experiments): duet/ holds every
# result and each verdict's text; duet-experiments.md and .json the figures.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${FULL:-0}" = 1 ]; then
  DURATION=${DURATION:-10s}; WARMUP=${WARMUP:-2s}; AA_JOBS=${AA_JOBS:-20}; POWER_JOBS=${POWER_JOBS:-20}; INTERLEAVED_ROUNDS=${INTERLEAVED_ROUNDS:-20}
fi
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
WINDOW=${WINDOW:-1s}
ROUNDS=${ROUNDS:-4}
AA_JOBS=${AA_JOBS:-5}
POWER_JOBS=${POWER_JOBS:-5}
INTERLEAVED_ROUNDS=${INTERLEAVED_ROUNDS:-10}
CAL_RUNS=${CAL_RUNS:-3}
THRESHOLD=${THRESHOLD:-2%}
SIZE=${SIZE:-384}
M5=$(( (SIZE * 105 + 50) / 100 ))
M10=$(( (SIZE * 110 + 50) / 100 ))

if [ -z "${HARNESS:-}" ]; then
  dotnet build src/Harness.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || exit 2
  HARNESS="dotnet src/Harness.Cli/bin/Release/net10.0/harness.dll"
fi
harness() { $HARNESS "$@"; }
OUT=${OUT:-results/$(harness hw --label)/gate-experiments}
D=$OUT/duet
mkdir -p "$D"
started=$(date +%s)
log() { echo "[duet-experiments $(($(date +%s) - started)) s] $*" >&2; }

gemm() { echo "gemm --set m=$1 --set n=$SIZE --set k=$SIZE --threads 1 --duration $DURATION --warmup $WARMUP"; }
throughput() { jq -r '.metrics.throughput_per_s' "$1"; }
# B/A throughput over the windows both sides of a duet pair measured.
pair_ratio() {
  jq -n --slurpfile a "$1" --slurpfile b "$2" \
    '($a[0].duet.completions) as $x | ($b[0].duet.completions) as $y | ([($x | length), ($y | length)] | min) as $n
     | if $n == 0 then "nan" else (([$y[:$n][]] | add) / ([$x[:$n][]] | add)) end'
}
# The CV (%) of ratios read on stdin, from the spread of their logs.
cv() { awk '$1 > 0 { l = log($1); s += l; q += l * l; n++ } END { if (n > 1) { v = (q - s * s / n) / (n - 1); printf "%.2f", 100 * sqrt(exp(v) - 1) } else print "n/a" }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One duet job; prints "exit seconds". Bad input (2) stops the experiment.
duet() {
  local dir=$1 a=$2 b=$3 t0 rc
  t0=$(date +%s)
  harness ab --duet --a "$a" --b "$b" --rounds "$ROUNDS" --window "$WINDOW" --threshold "$THRESHOLD" --out "$dir" >"$dir.txt" 2>"$dir.log"
  rc=$?
  if [ $rc -eq 2 ] || [ $rc -gt 3 ]; then log "ab --duet $dir failed with exit $rc: $(tail -2 "$dir.log")"; exit 1; fi
  echo "$rc $(($(date +%s) - t0))"
}

# --- 0. calibration: the sizes alone ------------------------------------------------------------------
log "0: calibration, $CAL_RUNS runs each of m=$SIZE, $M5 (+5% FLOPs), $M10 (+10%) alone"
mkdir -p "$D/calibration"
for r in $(seq -w 1 "$CAL_RUNS"); do
  for m in $SIZE $M5 $M10; do
    # shellcheck disable=SC2046
    harness run $(gemm "$m") --out "$D/calibration/m$m-$r.json" >"$D/calibration/m$m-$r.log" 2>&1
    [ $? -gt 1 ] && { log "calibration run m=$m failed (see $D/calibration/m$m-$r.log)"; exit 1; }
  done
done
cal() { for f in "$D/calibration/m$1"-*.json; do throughput "$f"; done | median; }
base_t=$(cal "$SIZE"); t5=$(cal "$M5"); t10=$(cal "$M10")
cal5=$(awk -v b="$base_t" -v s="$t5" 'BEGIN { printf "%.1f", (1 - s / b) * 100 }')
cal10=$(awk -v b="$base_t" -v s="$t10" 'BEGIN { printf "%.1f", (1 - s / b) * 100 }')

# --- A. A/A duet jobs -------------------------------------------------------------------------------
log "A: $AA_JOBS A/A duet jobs of $ROUNDS pairs"
aa_alarms=0; aa_pass=0; aa_incon=0; aa_disturbed=0; seconds=""
: >"$D/aa-ratios.txt"
for j in $(seq -w 1 "$AA_JOBS"); do
  read -r rc s < <(duet "$D/aa-$j" "$(gemm "$SIZE")" "$(gemm "$SIZE")")
  seconds="$seconds $s"
  case $rc in 0) aa_pass=$((aa_pass + 1));; 1) aa_alarms=$((aa_alarms + 1));; *) aa_incon=$((aa_incon + 1));; esac
  grep -q "DISTURBED" "$D/aa-$j.txt" && aa_disturbed=$((aa_disturbed + 1))
  for a in "$D/aa-$j"/a/pair-*.json; do pair_ratio "$a" "${a/\/a\//\/b\/}" >>"$D/aa-ratios.txt"; done
done
duet_cv=$(cv <"$D/aa-ratios.txt")
aa_pairs=$(wc -l <"$D/aa-ratios.txt")

# --- B. interleaved A/A, same hour ------------------------------------------------------------------
log "B: one interleaved A/A job of $INTERLEAVED_ROUNDS rounds"
harness ab --a "$(gemm "$SIZE")" --b "$(gemm "$SIZE")" --rounds "$INTERLEAVED_ROUNDS" --out "$D/interleaved" >"$D/interleaved.txt" 2>"$D/interleaved.log"
[ $? -eq 2 ] && { log "interleaved ab failed: $(tail -2 "$D/interleaved.log")"; exit 1; }
: >"$D/interleaved-ratios.txt"
for a in "$D/interleaved"/a/round-*.json; do
  b=${a/\/a\//\/b\/}
  awk -v x="$(throughput "$a")" -v y="$(throughput "$b")" 'BEGIN { print y / x }' >>"$D/interleaved-ratios.txt"
done
interleaved_cv=$(cv <"$D/interleaved-ratios.txt")

# --- C. power: +5% and +10% FLOPs -------------------------------------------------------------------
log "C: $POWER_JOBS duet jobs each for +5% (m=$M5) and +10% (m=$M10)"
found5=0; found10=0; incon5=0; incon10=0
for j in $(seq -w 1 "$POWER_JOBS"); do
  read -r rc s < <(duet "$D/plus5-$j" "$(gemm "$SIZE")" "$(gemm "$M5")")
  seconds="$seconds $s"; [ "$rc" = 1 ] && found5=$((found5 + 1)); [ "$rc" = 3 ] && incon5=$((incon5 + 1))
  read -r rc s < <(duet "$D/plus10-$j" "$(gemm "$SIZE")" "$(gemm "$M10")")
  seconds="$seconds $s"; [ "$rc" = 1 ] && found10=$((found10 + 1)); [ "$rc" = 3 ] && incon10=$((incon10 + 1))
done
per_verdict=$(for s in $seconds; do echo "$s"; done | median)

# --- the figures ------------------------------------------------------------------------------------
minutes=$(( ($(date +%s) - started) / 60 ))
{
  echo "# Duet experiments: gemm n=k=$SIZE, m=$SIZE/$M5/$M10, $DURATION runs, $ROUNDS pairs per verdict, $(date -u +%Y-%m-%dT%H:%MZ), $minutes minutes"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Gate: alpha 0.05, --threshold $THRESHOLD, window $WINDOW."
  echo
  echo "| figure | measured | target |"
  echo "|---|---|---|"
  echo "| calibration, alone: +5% FLOPs (m=$M5) | ${cal5}% lower throughput | about 5% |"
  echo "| calibration, alone: +10% FLOPs (m=$M10) | ${cal10}% lower throughput | about 10% |"
  echo "| A. A/A duet verdicts ($AA_JOBS jobs, $aa_pairs pairs) | $aa_alarms false alarms, $aa_pass pass, $aa_incon inconclusive ($aa_disturbed with a disturbed pair) | at most 5% false alarms |"
  echo "| B. CV of the B/A ratio: duet (per pair) | $duet_cv% | |"
  echo "| B. CV of the B/A ratio: interleaved (per round, $INTERLEAVED_ROUNDS rounds) | $interleaved_cv% | |"
  echo "| C. +5% found | $found5 of $POWER_JOBS ($incon5 inconclusive) | at least 90% |"
  echo "| C. +10% found | $found10 of $POWER_JOBS ($incon10 inconclusive) | |"
  echo "| machine time per verdict (median) | $per_verdict s | at most 10 minutes |"
  echo
  echo "- Files: $D (every result, each verdict's text next to its folder)."
} >"$OUT/duet-experiments.md"
jq -n --arg size "$SIZE" --arg duration "$DURATION" --argjson rounds "$ROUNDS" --arg threshold "$THRESHOLD" \
  --arg cal5 "$cal5" --arg cal10 "$cal10" --argjson aa_jobs "$AA_JOBS" --argjson aa_pairs "$aa_pairs" --argjson aa_alarms "$aa_alarms" \
  --argjson aa_pass "$aa_pass" --argjson aa_incon "$aa_incon" --arg duet_cv "$duet_cv" --arg interleaved_cv "$interleaved_cv" \
  --argjson power_jobs "$POWER_JOBS" --argjson found5 "$found5" --argjson found10 "$found10" --arg per_verdict_s "$per_verdict" \
  --argjson minutes "$minutes" '$ARGS.named' >"$OUT/duet-experiments.json"
cat "$OUT/duet-experiments.md"
