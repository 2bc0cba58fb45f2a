#!/usr/bin/env bash
# gate-experiments.sh - the real-run counts of issues 18 and 19 (docs/ci-gate.md, "How well the gate
# holds"), measured with minilm on this machine. Run it on a QUIET machine: nothing else running.
#
#   scripts/gate-experiments.sh                       # the full experiment: about 75 minutes
#   PAIRS=2 DURATION=2s WARMUP=0.5s TRIALS=1 RUNS=2 CANDIDATE_RUNS=1 OUT=/tmp/gx scripts/gate-experiments.sh   # a smoke test: 1.5-2 minutes
#
# What it runs (each run: `harness run minilm --duration $DURATION --warmup $WARMUP`, about DURATION + WARMUP
# + 3.5 s with process start and model load, 15.5 s with the defaults; 60 + 100 + up to 24 + 100 = 284 runs):
#   A. $PAIRS pairs (30) of back-to-back runs, nothing changed (issue 18: >= 20 quiet pairs; issue 19: >= 30
#      one-run pairs). Each pair is compared three ways: plain (one run a side: inconclusive unless a noise
#      model allows a verdict), with the other pairs' runs as the noise model (--noise-model), and with the
#      quiet-host rule's verdict (how many runs were disturbed beyond the default limits).
#   B. $TRIALS trials (10) of $RUNS runs (5) per side, interleaved (base, current; current, base; ...), nothing
#      changed: false alarms of `compare` at alpha 0.05, threshold 10% and 5%.
#   C. A real slowdown of 10-20%, found first: each candidate setting (a lower graph optimization level,
#      fewer threads) is measured $CANDIDATE_RUNS times (3) interleaved with the default; the first whose
#      median p50 is 10-20% slower is used (else the closest, and the summary says so). Then $TRIALS
#      trials of $RUNS interleaved runs per side: how many `compare` finds, threshold 10% and 5%.
# The duet design (ab --duet, issue 29) has its own experiments: scripts/duet-experiments.sh.
# The counts go to $OUT/gate-experiments.md (and .json); every result file stays under $OUT, by default
# results/<this machine's label>/gate-experiments.
set -uo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-30}
TRIALS=${TRIALS:-10}
RUNS=${RUNS:-5}
CANDIDATE_RUNS=${CANDIDATE_RUNS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
WORKLOAD=${WORKLOAD:-minilm}
CANDIDATES=${CANDIDATES:-"--optimization extended|--optimization basic|--optimization none|--threads 1"}

if [ -z "${HARNESS:-}" ]; then
  dotnet build src/Harness.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >&2 || exit 2
  HARNESS="dotnet src/Harness.Cli/bin/Release/net10.0/harness.dll"
fi
harness() { $HARNESS "$@"; }
# Under this machine's results folder (harness hw --label): its runs compare only with its own kind.
OUT=${OUT:-results/$(harness hw --label)/gate-experiments}
mkdir -p "$OUT"
started=$(date +%s)
log() { echo "[gate-experiments $(($(date +%s) - started)) s] $*" >&2; }

# One run; exit 1 (an invalid run, e.g. disturbed) is kept and counted, anything else stops the experiment.
run() {
  local out=$1; shift
  harness run "$WORKLOAD" --duration "$DURATION" --warmup "$WARMUP" --out "$out" "$@" >"$out.log" 2>&1
  local rc=$?
  if [ $rc -gt 1 ]; then log "run $out failed with exit $rc (see $out.log)"; exit 1; fi
}

# The exit code of a compare (0 pass, 1 regression, 3 inconclusive); its text next to the files.
# Bad input (2) stops the experiment: the counts would mean nothing.
compare() {
  local name=$1; shift
  harness compare "$@" >"$name.txt" 2>&1
  local rc=$?
  if [ $rc -eq 2 ]; then log "compare $name: bad input: $(head -1 "$name.txt")"; kill -TERM $$; fi
  echo $rc
}

p50() { jq -r '.metrics.latency_ms.p50' "$1"; }
disturbed() { jq -r '[.validity[] | select(.name == "quiet_host" and .passed == false)] | length' "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- A. one-run pairs -------------------------------------------------------------------------------
A=$OUT/pairs
mkdir -p "$A"
log "A: $PAIRS back-to-back pairs of $DURATION $WORKLOAD runs"
for i in $(seq -w 1 "$PAIRS"); do
  mkdir -p "$A/$i"
  run "$A/$i/base.json"
  run "$A/$i/current.json"
done
a_plain_regr=0; a_plain_incon=0; a_plain_pass=0; a_noise_regr=0; a_noise_incon=0; a_noise_pass=0; a_disturbed=0
for i in $(seq -w 1 "$PAIRS"); do
  for f in "$A/$i/base.json" "$A/$i/current.json"; do a_disturbed=$((a_disturbed + $(disturbed "$f"))); done
  rc=$(compare "$A/$i/compare" "$A/$i/base.json" "$A/$i/current.json")
  case $rc in 0) a_plain_pass=$((a_plain_pass + 1));; 1) a_plain_regr=$((a_plain_regr + 1));; *) a_plain_incon=$((a_plain_incon + 1));; esac
  # Leave-one-out noise model: every other pair's runs.
  noise=$A/$i/noise; rm -rf "$noise"; mkdir -p "$noise"
  for j in $(seq -w 1 "$PAIRS"); do
    [ "$j" = "$i" ] && continue
    cp "$A/$j/base.json" "$noise/$j-base.json"; cp "$A/$j/current.json" "$noise/$j-current.json"
  done
  if [ "$PAIRS" -ge 2 ]; then
    rc=$(compare "$A/$i/compare-noise-model" "$A/$i/base.json" "$A/$i/current.json" --noise-model "$noise")
    case $rc in 0) a_noise_pass=$((a_noise_pass + 1));; 1) a_noise_regr=$((a_noise_regr + 1));; *) a_noise_incon=$((a_noise_incon + 1));; esac
  fi
done
a_cv=$(for i in $(seq -w 1 "$PAIRS"); do p50 "$A/$i/base.json"; p50 "$A/$i/current.json"; done |
  awk '{ l = log($1); s += l; q += l * l; n++ } END { if (n > 1) { v = (q - s * s / n) / (n - 1); printf "%.1f", 100 * sqrt(exp(v) - 1) } else print "n/a" }')

# --- B. interleaved repeats, nothing changed --------------------------------------------------------
B=$OUT/repeats
log "B: $TRIALS trials of $RUNS interleaved runs per side, nothing changed"
b_alarm10=0; b_alarm5=0; b_incon10=0; b_disturbed=0
for t in $(seq -w 1 "$TRIALS"); do
  mkdir -p "$B/$t/base" "$B/$t/current"
  for r in $(seq -w 1 "$RUNS"); do
    if [ $((10#$r % 2)) -eq 1 ]; then order="base current"; else order="current base"; fi
    for side in $order; do run "$B/$t/$side/run-$r.json"; done
  done
  for f in "$B/$t"/*/run-*.json; do b_disturbed=$((b_disturbed + $(disturbed "$f"))); done
  rc=$(compare "$B/$t/compare" "$B/$t/base" "$B/$t/current")
  [ "$rc" = 1 ] && b_alarm10=$((b_alarm10 + 1)); [ "$rc" = 3 ] && b_incon10=$((b_incon10 + 1))
  rc=$(compare "$B/$t/compare-5pct" "$B/$t/base" "$B/$t/current" --threshold 5%)
  [ "$rc" = 1 ] && b_alarm5=$((b_alarm5 + 1))
done

# --- C. a real slowdown of 10-20% -----------------------------------------------------------------------
C=$OUT/slowdown
mkdir -p "$C/calibration"
log "C: find a setting that is 10-20% slower ($CANDIDATE_RUNS runs per candidate, interleaved with the default)"
chosen=""; chosen_pct=""; best_gap=1000000
IFS='|' read -r -a candidates <<<"$CANDIDATES"
for k in "${!candidates[@]}"; do
  cand=${candidates[$k]}
  mkdir -p "$C/calibration/$k/base" "$C/calibration/$k/slow"
  for r in $(seq -w 1 "$CANDIDATE_RUNS"); do
    run "$C/calibration/$k/base/run-$r.json"
    # shellcheck disable=SC2086
    run "$C/calibration/$k/slow/run-$r.json" $cand
  done
  b=$(for f in "$C/calibration/$k/base"/run-*.json; do p50 "$f"; done | median)
  s=$(for f in "$C/calibration/$k/slow"/run-*.json; do p50 "$f"; done | median)
  pct=$(awk -v b="$b" -v s="$s" 'BEGIN { printf "%.1f", (s / b - 1) * 100 }')
  echo "$cand: base p50 $b ms, candidate $s ms, $pct%" >>"$C/calibration/summary.txt"
  gap=$(awk -v p="$pct" 'BEGIN { g = (p < 10) ? 10 - p : (p > 20 ? p - 20 : 0); print g }')
  if awk -v g="$gap" -v b="$best_gap" 'BEGIN { exit !(g < b) }'; then best_gap=$gap; chosen=$cand; chosen_pct=$pct; fi
  [ "$gap" = 0 ] && break
done
log "C: using '$chosen' ($chosen_pct% slower in calibration); $TRIALS trials of $RUNS interleaved runs per side"
c_found10=0; c_found5=0; c_incon10=0; c_disturbed=0; c_measured=""
for t in $(seq -w 1 "$TRIALS"); do
  mkdir -p "$C/$t/base" "$C/$t/current"
  for r in $(seq -w 1 "$RUNS"); do
    if [ $((10#$r % 2)) -eq 1 ]; then order="base current"; else order="current base"; fi
    for side in $order; do
      # shellcheck disable=SC2086
      if [ "$side" = current ]; then run "$C/$t/current/run-$r.json" $chosen; else run "$C/$t/base/run-$r.json"; fi
    done
  done
  for f in "$C/$t"/*/run-*.json; do c_disturbed=$((c_disturbed + $(disturbed "$f"))); done
  # The slowdown is a setting, which the comparability rule would refuse: here it stands for a code change.
  rc=$(compare "$C/$t/compare" "$C/$t/base" "$C/$t/current" --allow-config-change)
  [ "$rc" = 1 ] && c_found10=$((c_found10 + 1)); [ "$rc" = 3 ] && c_incon10=$((c_incon10 + 1))
  rc=$(compare "$C/$t/compare-5pct" "$C/$t/base" "$C/$t/current" --allow-config-change --threshold 5%)
  [ "$rc" = 1 ] && c_found5=$((c_found5 + 1))
  b=$(for f in "$C/$t/base"/run-*.json; do p50 "$f"; done | median)
  s=$(for f in "$C/$t/current"/run-*.json; do p50 "$f"; done | median)
  c_measured="$c_measured $(awk -v b="$b" -v s="$s" 'BEGIN { printf "%.1f", (s / b - 1) * 100 }')"
done

# --- the counts -------------------------------------------------------------------------------------
minutes=$(( ($(date +%s) - started) / 60 ))
margin() { awk -v n="$1" 'BEGIN { printf "%.1f", 0.05 * n + 2.33 * sqrt(n * 0.05 * 0.95) }'; }
{
  echo "# Gate experiments: $WORKLOAD, $DURATION runs, $(date -u +%Y-%m-%dT%H:%MZ), $minutes minutes"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Gate: alpha 0.05; a false-alarm count is within target when at most alpha x n + 2.33 binomial sd (about 1% to exceed by chance)."
  echo
  echo "| experiment | n | regression | pass | inconclusive | target |"
  echo "|---|---:|---:|---:|---:|---|"
  echo "| A. one run per side, no noise model | $PAIRS | $a_plain_regr | $a_plain_pass | $a_plain_incon | 0 regressions (no verdict without a noise model) |"
  echo "| A. one run per side, other pairs as --noise-model | $PAIRS | $a_noise_regr | $a_noise_pass | $a_noise_incon | <= $(margin "$PAIRS") |"
  echo "| B. $RUNS runs per side interleaved, nothing changed, threshold 10% | $TRIALS | $b_alarm10 | $((TRIALS - b_alarm10 - b_incon10)) | $b_incon10 | <= $(margin "$TRIALS") |"
  echo "| B. same runs, threshold 5% | $TRIALS | $b_alarm5 | | | <= $(margin "$TRIALS") |"
  echo "| C. $RUNS runs per side, '$chosen' ($chosen_pct% slower in calibration), threshold 10% | $TRIALS | $c_found10 found | | $c_incon10 | as many as possible |"
  echo "| C. same runs, threshold 5% | $TRIALS | $c_found5 found | | | |"
  echo
  echo "- Run-to-run CV of p50 over the $((2 * PAIRS)) runs of A: $a_cv%."
  echo "- Runs the quiet-host rule judged disturbed (default limits): A $a_disturbed of $((2 * PAIRS)), B $b_disturbed of $((2 * TRIALS * RUNS)), C $c_disturbed of $((2 * TRIALS * RUNS)); a compare with a disturbed run is inconclusive."
  echo "- C: slowdown measured in each trial (median p50 ratio, %):$c_measured. Calibration: $(tr '\n' ';' <"$C/calibration/summary.txt")"
  echo "- Files: $OUT (every result, and each comparison's text next to it)."
} >"$OUT/gate-experiments.md"
jq -n --arg workload "$WORKLOAD" --arg duration "$DURATION" --argjson pairs "$PAIRS" --argjson trials "$TRIALS" --argjson runs "$RUNS" \
  --argjson a_plain_regr "$a_plain_regr" --argjson a_plain_incon "$a_plain_incon" --argjson a_noise_regr "$a_noise_regr" --argjson a_noise_incon "$a_noise_incon" \
  --argjson a_disturbed "$a_disturbed" --argjson b_alarm10 "$b_alarm10" --argjson b_alarm5 "$b_alarm5" --argjson b_incon10 "$b_incon10" \
  --argjson c_found10 "$c_found10" --argjson c_found5 "$c_found5" --argjson c_incon10 "$c_incon10" --arg chosen "$chosen" --arg chosen_pct "$chosen_pct" \
  --arg a_cv "$a_cv" --arg c_measured "$c_measured" --argjson minutes "$minutes" \
  '$ARGS.named' >"$OUT/gate-experiments.json"
cat "$OUT/gate-experiments.md"
