#!/usr/bin/env bash
# quant-speed.sh - issue 32 item 6: fp32, int8 and int4 weights side by side in one job, decode and prefill tokens/s of
# `harness run generate` on onnx:cpu (int8/int4: MatMulNBits, block 32, symmetric, accuracy_level 4), and where this tree
# has a llamacpp:cpu backend (`harness list` names it), the same shape exported by `harness export --format gguf --dtype
# q8_0|q4_0` run through it: the same GGUF file for both engines (onnx:cpu reads it with --dtype int8/int4, its blocks
# repacked into MatMulNBits). Cells are interleaved: for each repetition and batch, every format in turn.
#
#   bench/quant-speed.sh                      # llama-1b, batch 1 then 8, 64-token prompt, 32 new tokens, 3 repetitions
# Scale (environment): MODEL=llama-1b REPS=3 BATCHES="1 8" PROMPT=64 NEW=32 DURATION=4 MIN_REQUESTS=2 THREADS=<all cores>
#   FORMATS="fp32 int8 int4 gguf-int8 gguf-int4"   (gguf-*: onnx:cpu reading the exported q8_0/q4_0 file; also gguf-q4_K:
#   the q4_K file, run as stored without --dtype)
#   OUT=<file>   default results/<harness hw --label>/quant-speed_<model>_<UTC date>.md (raw runs beside it)
# Smallest proof run: MODEL=tiny-gpt2-test REPS=1 BATCHES=1 PROMPT=8 NEW=4 DURATION=1 MIN_REQUESTS=1
# Run it on a quiet machine: the figures are only as good as the machine is still (the load averages are written beside them).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-llama-1b}; REPS=${REPS:-3}; BATCHES=${BATCHES:-1 8}; PROMPT=${PROMPT:-64}; NEW=${NEW:-32}
DURATION=${DURATION:-4}; MIN_REQUESTS=${MIN_REQUESTS:-2}; THREADS=${THREADS:-$(nproc)}
FORMATS=${FORMATS:-fp32 int8 int4 gguf-int8 gguf-int4}
dotnet build src/Harness.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >&2
H() { dotnet src/Harness.Cli/bin/Release/net10.0/harness.dll "$@"; }
LABEL=$(H hw --label)
OUT=${OUT:-results/$LABEL/quant-speed_${MODEL}_$(date -u +%Y%m%d).md}
RAW=${OUT%.md}; mkdir -p "$RAW"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/quant-speed.XXXXXX"); trap 'rm -rf "$TMP"' EXIT

# The GGUF files both engines read: the seeded weights of MODEL in llama.cpp's blocks, one file per gguf-* format.
GGUF=""
for fmt in $FORMATS; do
  case $fmt in gguf-int8) GGUF="$GGUF q8_0" ;; gguf-int4) GGUF="$GGUF q4_0" ;; gguf-q4_K) GGUF="$GGUF q4_K" ;; esac
done
for q in $GGUF; do H export --model-config "$MODEL" --format gguf --dtype "$q" --out "$TMP/$MODEL-$q.gguf" >&2; done
LLAMACPP=""
if H list 2>/dev/null | grep -q 'llamacpp:cpu'; then LLAMACPP=1; else echo "no llamacpp:cpu backend in this tree: onnx:cpu only" >&2; fi

# One generate run: tag, backend, batch, then the model options; the JSON lands in $RAW.
one() {
  local tag=$1 backend=$2 batch=$3; shift 3
  local f="$RAW/$tag-b$batch-rep$rep"
  H run generate -b "$backend" --batch "$batch" --prompt-tokens "$PROMPT" --new-tokens "$NEW" --threads "$THREADS" \
    --duration "${DURATION}s" --min-requests "$MIN_REQUESTS" --warmup-requests 1 --tail p50 --allow-noisy \
    "$@" -o "$f.json" >"$f.log" 2>&1 || [ -s "$f.json" ] || echo "$tag batch $batch failed: $(tail -n 1 "$f.log")" >&2
}

uptime >"$RAW/uptime.txt"
for rep in $(seq 1 "$REPS"); do
  for batch in $BATCHES; do
    for fmt in $FORMATS; do
      echo "rep $rep: batch $batch $fmt" >&2
      case $fmt in
        fp32) one onnx-fp32 onnx:cpu "$batch" --model-config "$MODEL" --set spin=0 ;;
        int8|int4) one "onnx-$fmt" onnx:cpu "$batch" --model-config "$MODEL" --dtype "$fmt" --set spin=0 ;;
        gguf-int8) one onnx-gguf-q8_0 onnx:cpu "$batch" --model "$TMP/$MODEL-q8_0.gguf" --dtype int8 --set spin=0 ;;
        gguf-int4) one onnx-gguf-q4_0 onnx:cpu "$batch" --model "$TMP/$MODEL-q4_0.gguf" --dtype int4 --set spin=0 ;;
        gguf-q4_K) one onnx-gguf-q4_K onnx:cpu "$batch" --model "$TMP/$MODEL-q4_K.gguf" --set spin=0 ;;
      esac
    done
    if [ -n "$LLAMACPP" ]; then
      for q in $GGUF; do
        echo "rep $rep: batch $batch llamacpp $q" >&2
        one "llamacpp-$q" llamacpp:cpu "$batch" --model "$TMP/$MODEL-$q.gguf"
      done
    fi
  done
done
uptime >>"$RAW/uptime.txt"

python3 - "$RAW" "$OUT" "$MODEL" "$REPS" "$PROMPT" "$NEW" "$THREADS" <<'PY'
import glob, json, os, re, statistics as st, sys
raw, out, model, reps, prompt, new, threads = sys.argv[1:8]
runs = {}
for p in glob.glob(os.path.join(raw, "*.json")):
    m = re.match(r"(.+)-b(\d+)-rep(\d+)\.json$", os.path.basename(p))
    if not m:
        continue
    tag, batch, _ = m.groups()
    doc = json.load(open(p))
    metrics, config = doc["metrics"], doc.get("config", {})
    runs.setdefault((int(batch), tag), []).append(
        (metrics.get("decode_tokens_per_s"), metrics.get("prefill_tokens_per_s"), metrics.get("mbu"),
         config.get("weight_quantization") or config.get("llamacpp_tensor_types") or config.get("dtype")))

def med(values):
    v = [x for x in values if isinstance(x, (int, float))]
    if not v:
        return None, None
    m = st.median(v)
    return m, ((max(v) - min(v)) / m * 100 if m else 0.0)

def cell(values, fmt="{:.3g}"):
    m, spread = med(values)
    return "-" if m is None else (fmt.format(m) + f" (±{spread / 2:.0f}%)")

load = "; ".join(l.split("load average:")[-1].strip() for l in open(os.path.join(raw, "uptime.txt")))
order = ["onnx-fp32", "onnx-int8", "onnx-int4", "onnx-gguf-q8_0", "onnx-gguf-q4_0", "onnx-gguf-q4_K",
         "llamacpp-q8_0", "llamacpp-q4_0", "llamacpp-q4_K"]
lines = [
    f"# Quantized weights, side by side ({model})",
    "",
    f"`run generate`, {prompt}-token prompt, {new} new tokens, {threads} threads, {reps} interleaved repetitions per cell",
    f"(every format in turn, then the next batch). Load averages at start and end: {load}.",
    "Each figure is the median of the repetitions, ± half their spread ((max - min) / median). Decode tokens/s is",
    "decode_tokens_per_s (a step's tokens over the mean TPOT), prefill tokens/s prefill_tokens_per_s (prompt tokens over",
    "TTFT); x fp32 is the ratio of medians to onnx fp32 at the same batch. Results judged invalid on a busy host count too.",
    "",
    "| batch | engine, weights | decode tok/s | x fp32 | prefill tok/s | x fp32 | MBU |",
    "|---:|---|---:|---:|---:|---:|---:|",
]
for batch in sorted({b for b, _ in runs}):
    base = runs.get((batch, "onnx-fp32"), [])
    bd, bp = med([r[0] for r in base])[0], med([r[1] for r in base])[0]
    for tag in sorted({t for b, t in runs if b == batch}, key=lambda t: order.index(t) if t in order else 99):
        rs = runs[(batch, tag)]
        d, p = med([r[0] for r in rs])[0], med([r[1] for r in rs])[0]
        rd = f"{d / bd:.2f}" if d and bd else "-"
        rp = f"{p / bp:.2f}" if p and bp else "-"
        lines.append(f"| {batch} | {tag} | {cell([r[0] for r in rs])} | {rd} | {cell([r[1] for r in rs])} | {rp} "
                     f"| {cell([r[2] for r in rs], '{:.2f}')} |")
lines += ["", "Weights of each quantized cell (the result's weight_quantization):", ""]
for tag in order:
    for (b, t), rs in sorted(runs.items()):
        if t == tag and rs[0][3]:
            lines.append(f"- {tag}: {rs[0][3]}")
            break
lines += ["", f"Raw results: {raw}/"]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
