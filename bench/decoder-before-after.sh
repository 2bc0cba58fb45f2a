#!/usr/bin/env bash
# decoder-before-after.sh - issue 26 item 3: decode and prefill tokens/s of `harness run generate`
# before (a base commit) and after (this working tree), side by side in one job: the base is built
# into a temporary `git worktree`, both CLIs run interleaved (before, after, before, after... for each
# cell, REPS times), and each cell's medians and run-to-run spreads go into a Markdown table.
# Cells: MODELS x BACKENDS x BATCHES; the after build also runs sampled decode
# (--set temperature=0.7,top_p=0.9; skipped with a note when the build refuses the setting), so the
# table states what sampling costs per token. Every run uses --set spin=0 (as scripts/cpu-decoders.sh).
#
#   bench/decoder-before-after.sh [BASE]            # BASE defaults to 52e2dfb, the last main before issue 26
#
# Scale (environment; defaults take about 20 minutes on 2 cores):
#   REPS=3 DURATION=4 MIN_REQUESTS=2 BATCHES="1 8" MODELS="gpt2-124m llama-1b" BACKENDS="onnx:cpu torch:cpu"
#   GPT2_PROMPT=32 GPT2_NEW=16 LLAMA_PROMPT=16 LLAMA_NEW=8 SAMPLED=1
#   AFTER=<ref>   build a commit as "after" instead of the working tree
#   OUT=<file>    default results/<harness hw --label>/decoder-before-after_<UTC date>.md (raw runs beside it)
# Smallest proof run: REPS=1 DURATION=1 MIN_REQUESTS=1 BATCHES=1 MODELS=gpt2-124m BACKENDS=onnx:cpu GPT2_NEW=4
# Run it on a quiet machine: the figures are only as good as the machine is still.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-52e2dfb}
REPS=${REPS:-3}; DURATION=${DURATION:-4}; MIN_REQUESTS=${MIN_REQUESTS:-2}
BATCHES=${BATCHES:-1 8}; MODELS=${MODELS:-gpt2-124m llama-1b}; BACKENDS=${BACKENDS:-onnx:cpu torch:cpu}
GPT2_PROMPT=${GPT2_PROMPT:-32}; GPT2_NEW=${GPT2_NEW:-16}; LLAMA_PROMPT=${LLAMA_PROMPT:-16}; LLAMA_NEW=${LLAMA_NEW:-8}
SAMPLED=${SAMPLED:-1}; SAMPLING="temperature=0.7,top_p=0.9"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/decoder-before-after.XXXXXX")
cleanup() {
  git worktree remove --force "$TMP/before" >/dev/null 2>&1 || true
  [ -n "${AFTER:-}" ] && { git worktree remove --force "$TMP/after" >/dev/null 2>&1 || true; }
  rm -rf "$TMP"
}
trap cleanup EXIT

# Builds the CLI of a tree into its own bin/ (each tree has its own obj/ and bin/).
build() { dotnet build "$1/src/Harness.Cli" -c Release -nologo -v quiet -clp:ErrorsOnly >&2; }
echo "before: $(git rev-parse --short "$BASE") into $TMP/before" >&2
git worktree add --detach "$TMP/before" "$BASE" >/dev/null 2>&1
build "$TMP/before"
if [ -n "${AFTER:-}" ]; then
  git worktree add --detach "$TMP/after" "$AFTER" >/dev/null 2>&1
  AFTER_DIR=$TMP/after; AFTER_NAME=$(git rev-parse --short "$AFTER")
else
  AFTER_DIR=$PWD; AFTER_NAME="$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes')"
fi
build "$AFTER_DIR"

# TorchSharp needs a newer libstdc++ than Debian 12's (scripts/torch-compat.sh); ONNX Runtime alone does not.
case "$BACKENDS" in
  *torch*) DOTNET=$(scripts/torch-compat.sh); export DOTNET_ROOT; DOTNET_ROOT=$(dirname "$DOTNET") ;;
  *) DOTNET=dotnet ;;
esac
run_cli() { local tree=$1; shift; "$DOTNET" "$tree/src/Harness.Cli/bin/Release/net10.0/harness.dll" "$@"; }
LABEL=$(run_cli "$AFTER_DIR" hw --label)
OUT=${OUT:-results/$LABEL/decoder-before-after_$(date -u +%Y%m%d).md}
RAW=${OUT%.md}; mkdir -p "$RAW"

# One generate run: tree, tag, model, backend, batch, then extra options; the JSON lands in $RAW.
one() {
  local tree=$1 tag=$2 model=$3 backend=$4 batch=$5; shift 5
  local prompt new
  if [ "$model" = gpt2-124m ]; then prompt=$GPT2_PROMPT; new=$GPT2_NEW; else prompt=$LLAMA_PROMPT; new=$LLAMA_NEW; fi
  local f="$RAW/$tag-${backend%%:*}-$model-b$batch-rep$rep"
  run_cli "$tree" run generate -b "$backend" --model-config "$model" --batch "$batch" --prompt-tokens "$prompt" \
    --new-tokens "$new" --duration "${DURATION}s" --min-requests "$MIN_REQUESTS" --warmup-requests 1 --tail p50 \
    --set spin=0 "$@" -o "$f.json" >"$f.log" 2>&1 || [ -s "$f.json" ] # a result judged invalid (a busy host) still counts
}

uptime >"$RAW/uptime.txt"
sampled_refused=""
for rep in $(seq 1 "$REPS"); do
  for model in $MODELS; do
    for backend in $BACKENDS; do
      for batch in $BATCHES; do
        echo "rep $rep: $model $backend batch $batch" >&2
        one "$TMP/before" before "$model" "$backend" "$batch" || echo "before failed: see $RAW" >&2
        one "$AFTER_DIR" after "$model" "$backend" "$batch" || echo "after failed: see $RAW" >&2
        if [ "$SAMPLED" = 1 ] && [ -z "$sampled_refused" ]; then
          if ! one "$AFTER_DIR" sampled "$model" "$backend" "$batch" --set "$SAMPLING"; then
            sampled_refused=$(tail -n 1 "$RAW/sampled-${backend%%:*}-$model-b$batch-rep$rep.log")
            echo "sampled decode refused by the after build: $sampled_refused" >&2
          fi
        fi
      done
    done
  done
done
uptime >>"$RAW/uptime.txt"

python3 - "$RAW" "$OUT" "$BASE" "$AFTER_NAME" "$REPS" "$SAMPLING" "$sampled_refused" <<'PY'
import glob, json, os, re, statistics as st, sys
raw, out, base, after, reps, sampling, refused = sys.argv[1:8]
runs = {}
for p in glob.glob(os.path.join(raw, "*.json")):
    m = re.match(r"(before|after|sampled)-(\w+)-(.+)-b(\d+)-rep(\d+)\.json$", os.path.basename(p))
    if not m:
        continue
    tag, backend, model, batch, _ = m.groups()
    metrics = json.load(open(p))["metrics"]
    tpot = metrics.get("tpot_ms")
    runs.setdefault((model, backend + ":cpu", int(batch)), {}).setdefault(tag, []).append(
        (metrics.get("decode_tokens_per_s"), metrics.get("prefill_tokens_per_s"), tpot.get("p50") if isinstance(tpot, dict) else None))

def summary(values):
    v = [x for x in values if isinstance(x, (int, float))]
    if not v:
        return None, None
    med = st.median(v)
    return med, (max(v) - min(v)) / med * 100 if med else 0.0

def cell(values):
    med, spread = summary(values)
    return "-" if med is None else f"{med:.3g} (±{spread / 2:.1f}%)"

def ratio(a, b):
    (x, _), (y, _) = summary(a), summary(b)
    return "-" if x is None or y is None or y == 0 else f"{x / y:.3f}"

load = "; ".join(l.split("load average:")[-1].strip() for l in open(os.path.join(raw, "uptime.txt")))
lines = [
    f"# Decoder before and after (issue 26)",
    "",
    f"Before: {base}; after: {after}. {reps} interleaved repetitions per cell (before, after, sampled, then the next cell);",
    f"load averages at start and end: {load}. Each figure is the median of the repetitions, ± half the",
    "run-to-run spread ((max - min) / median) in that cell. Decode tokens/s (the result's decode_tokens_per_s) counts",
    "every sequence's token of a decode step over the mean TPOT; prefill tokens/s (prefill_tokens_per_s) the batch's",
    "prompt tokens over TTFT. After/before is the ratio of medians: after is at least before where it is 1 or more,",
    "or less than 1 by no more than the spread stated. Results judged invalid (quiet_host on a busy machine) count",
    "too: check the load averages above.",
    "",
    "| model | backend | batch | decode before | decode after | after/before | prefill before | prefill after | after/before |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
]
for (model, backend, batch), tags in sorted(runs.items()):
    b, a = tags.get("before", []), tags.get("after", [])
    col = lambda rs, i: [r[i] for r in rs]
    lines.append(f"| {model} | {backend} | {batch} | {cell(col(b, 0))} | {cell(col(a, 0))} | {ratio(col(a, 0), col(b, 0))} "
                 f"| {cell(col(b, 1))} | {cell(col(a, 1))} | {ratio(col(a, 1), col(b, 1))} |")
lines += ["", f"## Sampling ({sampling}) against greedy, after build", ""]
if refused:
    lines.append(f"Sampled decode was refused by the after build, so it was not measured: {refused}")
elif not any(tags.get("sampled") for tags in runs.values()):
    lines.append("Sampled decode was not run (SAMPLED=0).")
else:
    lines += ["TPOT p50 is the time of one decode step; the cost per token is the step's extra time over the batch's sequences.", "",
              "| model | backend | batch | decode greedy | decode sampled | TPOT greedy ms | TPOT sampled ms | sampling per token |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for (model, backend, batch), tags in sorted(runs.items()):
        a, s = tags.get("after", []), tags.get("sampled", [])
        if not s:
            continue
        (tg, _), (ts, _) = summary([r[2] for r in a]), summary([r[2] for r in s])
        cost = "-" if tg is None or ts is None else f"{(ts - tg) / batch * 1000:.0f} µs"
        lines.append(f"| {model} | {backend} | {batch} | {cell([r[0] for r in a])} | {cell([r[0] for r in s])} "
                     f"| {cell([r[2] for r in a])} | {cell([r[2] for r in s])} | {cost} |")
lines += ["", f"Raw runs (JSON and logs): {raw}/"]
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "wrote $OUT" >&2
