#!/usr/bin/env bash
# device-decoders.sh - the decoder check on the lent GPU machine, in one call.
#
# Runs, for both backends (onnx:cuda fp16, torch:cuda bf16): the gemm and copy ceilings, the
# TorchSharp decode loop's PyTorch twin (scripts/torch-step-compare, the same-card anchor), then
# generate for gpt2-124m and llama-1b at batch 1, 16 and 64 with prompt 128 and 128 new tokens,
# ONNX Runtime both eager and with the decode step as a CUDA graph (--set cuda_graph=1)
# (generate runs state MBU/MFU against the catalog peak and against the ceilings just measured), then
# onnx:cuda with int4 weights (--dtype int4, MatMulNBits) for llama-1b at batch 1 and 64.
# With little device time, ONLY='onnx.*b1' runs the ONNX Runtime batch-1 points first.
# Every result JSON, its log, nvidia-smi and the hardware fingerprint go under "$OUT"; a run that
# fails (e.g. out of memory, or the ONNX Runtime CUDA provider not staged) is logged and the
# script goes on. Results appear in the order of importance, each as soon as it finishes, so a
# cut-off call still brings back what it had.
#
# Prepare (on the dev machine, from the repository root):
#   ../shared/device/pack.sh src/Harness.Cli/Harness.Cli.csproj     (then stage .device and the ORT parts)
# Run on the device (after staging, no carry needed besides the working tree):
#   bash scripts/device-decoders.sh
# Environment:
#   OUT             where results go (set by the device runner)
#   HD              staged harness folder (default /tmp/hd, as on-device.sh uses)
#   BUDGET_S        stop starting new runs after this many seconds (default 540)
#   RUN_TIMEOUT_S   limit for one harness run (default 150)
#   ONLY            run only entries whose label matches this regex (e.g. 'torch.*gpt2')
#   DEVICE, MODELS, BATCHES, PROMPT, NEW, GEMM_SIZE, COPY_MIB, REPEATS, TORCH_DTYPE, ONNX_DTYPE
#                   override the plan (defaults: cuda, "gpt2-124m llama-1b", "1 64 16", 128, 128,
#                   8192, 1024, 20, bf16, fp16); e.g. a dry run on a CPU box with a fake $HD:
#                   DEVICE=cpu MODELS=gpt2-124m BATCHES=1 PROMPT=8 NEW=8 GEMM_SIZE=512 COPY_MIB=64 \
#                   REPEATS=1 TORCH_DTYPE=fp32 ONNX_DTYPE=fp32 OUT=/tmp/o bash scripts/device-decoders.sh
set -uo pipefail

OUT=${OUT:?set OUT to the folder results should go to}
HD=${HD:-/tmp/hd}
BUDGET_S=${BUDGET_S:-540}
RUN_TIMEOUT_S=${RUN_TIMEOUT_S:-150}
ONLY=${ONLY:-.}
DEVICE=${DEVICE:-cuda}
MODELS=${MODELS:-gpt2-124m llama-1b}
BATCHES=${BATCHES:-1 64 16}
PROMPT=${PROMPT:-128}
NEW=${NEW:-128}
GEMM_SIZE=${GEMM_SIZE:-8192}
COPY_MIB=${COPY_MIB:-1024}
REPEATS=${REPEATS:-20}
TORCH_DTYPE=${TORCH_DTYPE:-bf16}
ONNX_DTYPE=${ONNX_DTYPE:-fp16}
start=$(date +%s)
mkdir -p "$OUT"

log() { printf '[device-decoders %4ds] %s\n' "$(( $(date +%s) - start ))" "$*" | tee -a "$OUT/device-decoders.log" >&2; }

# --- the harness: unpack once through on-device.sh, then call the app directly with its environment.
if [ ! -x "$HD/on-device.sh" ] && [ -x .device/on-device.sh ]; then
  bash .device/on-device.sh stage >/dev/null
fi
[ -x "$HD/on-device.sh" ] || { log "no staged harness in $HD (run pack.sh and stage .device first)"; exit 2; }
bash "$HD/on-device.sh" run -- hw >"$OUT/hw.txt" 2>&1 || log "harness hw failed (see hw.txt)"
torchlib=$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))' 2>/dev/null || true)
site=$(dirname "$(dirname "$torchlib")")
export DOTNET_ROOT="$HD/dotnet"
export LD_LIBRARY_PATH="$torchlib:$site/nvidia/cu13/lib:$site/nvidia/cudnn/lib:${LD_LIBRARY_PATH:-}"
export TORCH_LIB_DIR="$torchlib"
export HARNESS_CACHE=${HARNESS_CACHE:-/tmp/harness-cache}
app="$HD/app/$(cat "$HD/app.name").dll"
harness() { "$HD/dotnet/dotnet" "$app" "$@"; }

nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,power.limit --format=csv >>"$OUT/nvidia-smi.txt" 2>&1 || true
log "GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1); torch lib: ${torchlib:-none}"

# --- one run: label, then harness arguments. Skips when the budget is spent or ONLY excludes it.
run() {
  local label=$1; shift
  [[ $label =~ $ONLY ]] || return 0
  local elapsed=$(( $(date +%s) - start ))
  if [ "$elapsed" -ge "$BUDGET_S" ]; then log "skip $label (budget of ${BUDGET_S}s spent)"; return 0; fi
  log "run $label"
  local t0=$(date +%s)
  timeout --kill-after=10 "$RUN_TIMEOUT_S" "$HD/dotnet/dotnet" "$app" run "$@" -o "$OUT/$label.json" >"$OUT/$label.log" 2>&1
  local rc=$?
  log "  $label: exit $rc in $(( $(date +%s) - t0 ))s$( [ $rc -eq 2 ] && printf ': %s' "$(grep -m1 '^harness:' "$OUT/$label.log")")"
}

measure=(--duration 3s --min-requests 7 --max-duration 60s --warmup-requests 2 --tail p50)
gen=(--prompt-tokens "$PROMPT" --new-tokens "$NEW")

# 1. Ceilings (short): the measured peaks MFU/MBU are also stated against.
run "torch-gemm-$TORCH_DTYPE" gemm -b "torch:$DEVICE" --dtype "$TORCH_DTYPE" --set size="$GEMM_SIZE" --set repeats="$REPEATS" "${measure[@]}"
run torch-copy copy -b "torch:$DEVICE" --set size_mib="$COPY_MIB" --set repeats="$REPEATS" "${measure[@]}"
run "onnx-gemm-$ONNX_DTYPE" gemm -b "onnx:$DEVICE" --dtype "$ONNX_DTYPE" --set size="$GEMM_SIZE" --set repeats="$REPEATS" "${measure[@]}"
run onnx-copy copy -b "onnx:$DEVICE" --set size_mib="$COPY_MIB" --set repeats="$REPEATS" "${measure[@]}"
run torch-read copy -b "torch:$DEVICE" --set mode=read --set size_mib="$COPY_MIB" --set repeats="$REPEATS" "${measure[@]}"
run onnx-read copy -b "onnx:$DEVICE" --set mode=read --set size_mib="$COPY_MIB" --set repeats="$REPEATS" "${measure[@]}"
ceil_torch="$OUT/torch-gemm-$TORCH_DTYPE.json,$OUT/torch-copy.json,$OUT/torch-read.json"
ceil_onnx="$OUT/onnx-gemm-$ONNX_DTYPE.json,$OUT/onnx-copy.json,$OUT/onnx-read.json"
ceilings() { local list="" f; for f in ${1//,/ }; do [ -s "$f" ] && list="${list:+$list,}$f"; done; [ -n "$list" ] && printf -- '--set\nceilings=%s\n' "$list"; }

# 2. The same decode loop in PyTorch eager on the same card (the anchor of "a TorchSharp step within
#    1.2x of PyTorch"): scripts/torch-step-compare/decode_loop.py mirrors the TorchSharp modules op for op.
if [[ pytorch-loop =~ $ONLY ]] && [ "$DEVICE" = cuda ]; then
  log "run pytorch-loop"
  timeout --kill-after=10 "$RUN_TIMEOUT_S" python3 scripts/torch-step-compare/decode_loop.py --device cuda --dtype "$TORCH_DTYPE" \
    --batch "${BATCHES// /,}" --prompt-tokens "$PROMPT" --new-tokens "$NEW" --reps 5 \
    $(for m in $MODELS; do printf 'models/%s.json ' "$m"; done) >"$OUT/pytorch-loop.txt" 2>&1
  log "  pytorch-loop: exit $?"
fi

# --- Issue 26 item 5 (sampling and the serving tax on a card): its own block, before the greedy sweep
#     (which fills the rest of the budget), gpt2-124m only, batch 1 first. Each case is guarded: a failure is
#     logged and the next runs. Labels: {onnx,torch}-sampled-gpt2-124m-b{1,64} (--set temperature=0.7,top_p=0.9,
#     beside the greedy onnx/torch-generate-gpt2-124m-b{1,64} of step 3) and onnx-served-gpt2-124m-c{1,64}:
#     `serve --backend onnx:$DEVICE` (--max-batch C, a batch window so that a round's C requests join one
#     iteration, as generate's batch does) driven by the harness's own client (run generate --backend openai:URL
#     --scenario concurrency:C, the same prompt and new tokens, ignore_eos, greedy), beside the in-process greedy
#     onnx-generate-gpt2-124m-b{1,64}; serving-tax.txt pairs them when the script ends. SERVE_MODEL overrides the model.
SERVE_MODEL=${SERVE_MODEL:-gpt2-124m}
sampled=(--set temperature=0.7,top_p=0.9)
served() {  # served C: serve with C slots, the client at concurrency C, the server stopped after.
  local c=$1 label="onnx-served-$SERVE_MODEL-c$1"
  [[ $label =~ $ONLY ]] || return 0
  if [ $(( $(date +%s) - start )) -ge "$BUDGET_S" ]; then log "skip $label (budget of ${BUDGET_S}s spent)"; return 0; fi
  log "run $label"
  local t0=$(date +%s) url="" pid i
  "$HD/dotnet/dotnet" "$app" serve --backend "onnx:$DEVICE" --model-config "$SERVE_MODEL" --port 0 --max-batch "$c" --max-queue "$c" \
    --batch-window 500ms >"$OUT/$label-server.log" 2>&1 &
  pid=$!
  for i in $(seq 1 $(( RUN_TIMEOUT_S * 5 ))); do
    url=$(grep -o -m1 'on http://[^ ]*' "$OUT/$label-server.log" | cut -c4-)
    [ -n "$url" ] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.2
  done
  if [ -z "$url" ]; then
    log "  $label: serve did not listen (see $label-server.log)"
  else
    timeout --kill-after=10 "$RUN_TIMEOUT_S" "$HD/dotnet/dotnet" "$app" run generate --backend "openai:${url%/}/v1" \
      --model-config "$SERVE_MODEL" "${gen[@]}" --scenario "concurrency:$c" --set api=completions --server-metrics off \
      --duration 3s --min-requests $(( 7 * c )) --max-duration 60s --warmup-requests $(( 2 * c )) --tail p50 \
      -o "$OUT/$label.json" >"$OUT/$label.log" 2>&1
    log "  $label: exit $? in $(( $(date +%s) - t0 ))s"
  fi
  kill "$pid" 2>/dev/null
  timeout 40 tail --pid="$pid" -f /dev/null || kill -9 "$pid" 2>/dev/null
}
serving_tax_summary() {  # at exit: each served point beside the in-process greedy one of step 3
  python3 - "$OUT" "$SERVE_MODEL" <<'PY' >"$OUT/serving-tax.txt" 2>&1 || true
import json, os, sys
out, model = sys.argv[1], sys.argv[2]
def p50(f, k):
    try:
        return json.load(open(os.path.join(out, f)))["metrics"][k]["p50"]
    except (OSError, KeyError, TypeError, ValueError):
        return None
for c in (1, 64):
    i, s = f"onnx-generate-{model}-b{c}.json", f"onnx-served-{model}-c{c}.json"
    row = [f"C={c}"]
    for k, target in (("ttft_ms", lambda a: max(1.0, 0.05 * a)), ("tpot_ms", lambda a: 0.03 * a)):
        a, b = p50(i, k), p50(s, k)
        if a is None or b is None:
            row.append(f"{k} p50 in-process {a} served {b}")
        else:
            row.append(f"{k} p50 in-process {a:.2f} served {b:.2f} overhead {b - a:+.2f} ms ({100 * (b - a) / a:+.1f}%, "
                       f"target <= {target(a):.2f} ms: {'met' if b - a <= target(a) else 'MISSED'})")
    print("; ".join(row))
PY
  cat "$OUT/serving-tax.txt" >&2
}
trap serving_tax_summary EXIT
mapfile -t ct < <(ceilings "$ceil_torch")
mapfile -t co < <(ceilings "$ceil_onnx")
run "onnx-sampled-$SERVE_MODEL-b1" generate -b "onnx:$DEVICE" --model-config "$SERVE_MODEL" --batch 1 "${sampled[@]}" "${gen[@]}" \
  "${measure[@]}" "${co[@]}"
run "torch-sampled-$SERVE_MODEL-b1" generate -b "torch:$DEVICE" --model-config "$SERVE_MODEL" --batch 1 "${sampled[@]}" "${gen[@]}" \
  "${measure[@]}" "${ct[@]}"
served 1
run "onnx-sampled-$SERVE_MODEL-b64" generate -b "onnx:$DEVICE" --model-config "$SERVE_MODEL" --batch 64 "${sampled[@]}" "${gen[@]}" \
  "${measure[@]}" "${co[@]}"
run "torch-sampled-$SERVE_MODEL-b64" generate -b "torch:$DEVICE" --model-config "$SERVE_MODEL" --batch 64 "${sampled[@]}" "${gen[@]}" \
  "${measure[@]}" "${ct[@]}"
served 64
# --- end of the issue 26 item 5 block.

# 3. Generate: batch 1 first (latency targets), then 64 and 16; TorchSharp and ONNX Runtime alternate.
for model in $MODELS; do
  for batch in $BATCHES; do
    mapfile -t ct < <(ceilings "$ceil_torch")
    run "torch-generate-$model-b$batch" generate -b "torch:$DEVICE" --model-config "$model" --batch "$batch" "${gen[@]}" "${measure[@]}" "${ct[@]}"
    mapfile -t co < <(ceilings "$ceil_onnx")
    run "onnx-generate-$model-b$batch" generate -b "onnx:$DEVICE" --model-config "$model" --batch "$batch" "${gen[@]}" "${measure[@]}" "${co[@]}"
    # The same with the decode step captured as a CUDA graph (fixed shapes, replayed each step).
    [ "$DEVICE" = cuda ] && run "onnx-graph-generate-$model-b$batch" generate -b "onnx:$DEVICE" --model-config "$model" --batch "$batch" --set cuda_graph=1 "${gen[@]}" "${measure[@]}" "${co[@]}"
  done
done

# 3b. int4 weights on onnx:cuda (issue 32): MatMulNBits (block 32, symmetric, fp16 activations and scales) at batch 1
#     and 64. Each run is guarded like every other (a refusal, e.g. no CUDA kernel for a format, is logged and the
#     script goes on); ONLY=int4 runs just these. INT4_MODELS, INT4_BATCHES override (defaults: llama-1b, "1 64").
for model in ${INT4_MODELS:-llama-1b}; do
  for batch in ${INT4_BATCHES:-1 64}; do
    mapfile -t co < <(ceilings "$ceil_onnx")
    run "onnx-int4-generate-$model-b$batch" generate -b "onnx:$DEVICE" --model-config "$model" --dtype int4 --batch "$batch" \
      "${gen[@]}" "${measure[@]}" "${co[@]}" || log "  onnx int4 $model batch $batch did not run"
  done
done

# 4. A one-screen summary of what came back.
python3 - "$OUT" <<'PY' >"$OUT/summary.txt" 2>&1 || true
import json, os, sys
out = sys.argv[1]
rows = []
for f in sorted(os.listdir(out)):
    if not f.endswith(".json"):
        continue
    d = json.load(open(os.path.join(out, f)))
    m = d.get("metrics", {})
    def g(k, scale=1.0, fmt="{:.1f}"):
        v = m.get(k)
        return fmt.format(v * scale) if isinstance(v, (int, float)) else "-"
    tp = m.get("tpot_ms") or {}
    rows.append(f"{f[:-5]:40s} ok={m.get('requests_ok')} tok/s={g('output_tokens_per_s')} decode_tok/s={g('decode_tokens_per_s')} "
                f"tpot_p50={tp.get('p50', '-')} mbu={g('mbu', 100)}% mbu_meas={g('mbu_measured', 100)}% mfu={g('mfu', 100)}% "
                f"tflops={g('achieved_tflops', 1, '{:.1f}')} GB/s={g('achieved_gb_per_s', 1, '{:.0f}')}")
print("\n".join(rows))
PY
cat "$OUT/summary.txt" >&2
[ -s "$OUT/pytorch-loop.txt" ] && cat "$OUT/pytorch-loop.txt" >&2
log "done"
