#!/usr/bin/env bash
# quant-options.sh - issue 32 item 6: what could close the int4 decode gap to llama.cpp, each option measured side by
# side with the default in one job. `harness run generate` on onnx:cpu, seeded weights (--model-config), batch 1; the
# cells are interleaved (each repetition runs every cell in turn), the load average is written before and after, and
# the summary gives each cell's decode and prefill tokens/s as a ratio to the default cell's median (ratios, not rates:
# the machine is shared).
#
#   bench/quant-options.sh                  # llama-1b int4, 64-token prompt, 32 new tokens, 2 threads, 3 repetitions
# Scale (environment): MODEL=llama-1b DTYPE=int4 REPS=3 PROMPT=64 NEW=32 DURATION=4 MIN_REQUESTS=2 THREADS=<all cores>
#   CELLS="base spin1 threads1 block64 block128"  (base: block 32, accuracy_level 4, spin=0, as bench/quant-speed.sh)
#   SLOW_CELLS="level1 level2"  run once each after the repetitions, with NEW_SLOW new tokens (default 8): levels 1-3
#     take MLAS's fp32 path like level 0, which decodes at a few tokens/s at most
#   HARNESS="dotnet path/to/harness.dll"  (default: build src/Harness.Cli in Release and run it)
#   OUT=<file>   default results/<harness hw --label>/quant-options_<model>-<dtype>_<UTC date>.md (raw runs beside it)
# Smallest proof run: MODEL=tiny-llama-test REPS=1 PROMPT=8 NEW=4 DURATION=1 MIN_REQUESTS=1 SLOW_CELLS=""
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-llama-1b}; DTYPE=${DTYPE:-int4}; REPS=${REPS:-3}; PROMPT=${PROMPT:-64}; NEW=${NEW:-32}
DURATION=${DURATION:-4}; MIN_REQUESTS=${MIN_REQUESTS:-2}; THREADS=${THREADS:-$(nproc)}; NEW_SLOW=${NEW_SLOW:-8}
CELLS=${CELLS:-base spin1 threads1 block64 block128}; SLOW_CELLS=${SLOW_CELLS-level1 level2}
if [ -z "${HARNESS:-}" ]; then
  dotnet build src/Harness.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >&2
  HARNESS="dotnet src/Harness.Cli/bin/Release/net10.0/harness.dll"
fi
H() { $HARNESS "$@"; }
LABEL=$(H hw --label)
OUT=${OUT:-results/$LABEL/quant-options_${MODEL}-${DTYPE}_$(date -u +%Y%m%d).md}
RAW=${OUT%.md}; mkdir -p "$RAW"

# One cell: its name picks the options; the JSON lands in $RAW.
one() {
  local cell=$1 new=$2 threads=$THREADS
  local -a opts=(--set spin=0)
  case $cell in
    base) ;;
    spin1) opts=(--set spin=1) ;;
    threads1) threads=1 ;;
    block*) opts+=(--set "quant_block=${cell#block}") ;;
    level*) opts+=(--set "accuracy_level=${cell#level}") ;;
    *) echo "unknown cell $cell" >&2; return 1 ;;
  esac
  local f="$RAW/$cell-rep$rep"
  H run generate -b onnx:cpu --model-config "$MODEL" --dtype "$DTYPE" --batch 1 --prompt-tokens "$PROMPT" --new-tokens "$new" \
    --threads "$threads" --duration "${DURATION}s" --min-requests "$MIN_REQUESTS" --warmup-requests 1 --tail p50 --allow-noisy \
    "${opts[@]}" -o "$f.json" >"$f.log" 2>&1 || [ -s "$f.json" ] || echo "$cell failed: $(tail -n 1 "$f.log")" >&2
}

uptime >"$RAW/uptime.txt"
for rep in $(seq 1 "$REPS"); do
  for cell in $CELLS; do echo "rep $rep: $cell" >&2; one "$cell" "$NEW"; done
done
rep=1
for cell in $SLOW_CELLS; do echo "slow: $cell" >&2; one "$cell" "$NEW_SLOW"; done
uptime >>"$RAW/uptime.txt"

python3 - "$RAW" "$OUT" "$MODEL" "$DTYPE" "$REPS" "$PROMPT" "$NEW" "$THREADS" "$NEW_SLOW" <<'PY'
import glob, json, os, re, statistics as st, sys
raw, out, model, dtype, reps, prompt, new, threads, new_slow = sys.argv[1:10]
runs = {}
for p in sorted(glob.glob(os.path.join(raw, "*.json"))):
    m = re.match(r"(.+)-rep(\d+)\.json$", os.path.basename(p))
    if not m:
        continue
    doc = json.load(open(p))
    metrics, config = doc["metrics"], doc.get("config", {})
    sets = config.get("set") or {}
    what = (f"block {config.get('quant_block')}, accuracy_level {config.get('accuracy_level')}, threads {config.get('threads')}, "
            f"spin {sets.get('spin', '1 (default)')}")
    runs.setdefault(m.group(1), []).append((metrics.get("decode_tokens_per_s"), metrics.get("prefill_tokens_per_s"), what))

def med(values):
    v = [x for x in values if isinstance(x, (int, float))]
    return (st.median(v), (max(v) - min(v)) / st.median(v) * 100) if v else (None, None)

load = "; ".join(l.split("load average:")[-1].strip() for l in open(os.path.join(raw, "uptime.txt")))
base = runs.get("base", [])
bd, bp = med([r[0] for r in base])[0], med([r[1] for r in base])[0]
lines = [f"# Options against the default, {model} {dtype}, batch 1", "",
         f"`run generate -b onnx:cpu --model-config {model} --dtype {dtype}`, {prompt}-token prompt, {new} new tokens "
         f"({new_slow} for the accuracy_level 1-3 cells, run once after the rest), {threads} threads unless the cell says, "
         f"{reps} interleaved repetitions. Load averages at start and end: {load}.",
         "Median of the repetitions, ± half their spread; x base = ratio of medians to the base cell (block 32, "
         "accuracy_level 4, spin=0).", "",
         "| cell | runs | decode tok/s | x base | prefill tok/s | x base | options |", "|---|---:|---:|---:|---:|---:|---|"]
for cell, rs in runs.items():
    d, ds = med([r[0] for r in rs]); p, ps = med([r[1] for r in rs])
    fmt = lambda v, s: "-" if v is None else f"{v:.3g} (±{s / 2:.0f}%)"
    rd = f"{d / bd:.2f}" if d and bd else "-"
    rp = f"{p / bp:.2f}" if p and bp else "-"
    lines.append(f"| {cell} | {len(rs)} | {fmt(d, ds)} | {rd} | {fmt(p, ps)} | {rp} | {rs[0][2]} |")
lines += ["", f"Raw results: {raw}/"]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
