#!/usr/bin/env bash
# device-decoders.sh - the decoder check on the lent GPU machine (issue 30), in one call.
#
# Runs, in the order of importance (issue 30's table first), each case guarded: a case that fails or is
# refused (out of memory, the ONNX Runtime CUDA provider not staged, a format without a CUDA kernel) is
# logged with its exit status and first error line, and the script goes on.
#   1. onnx:cuda ceilings (gemm, copy, read-only copy) at ONNX_DTYPE; then generate on onnx:cuda for MODELS x
#      BATCHES (gpt2-124m then llama-1b, batch 1 then 64), prompt 128, 128 new tokens, each eager and with
#      the decode step as a CUDA graph (--set cuda_graph=1, labels onnx-graph-generate-*);
#   2. the same on torch:cuda (its ceilings first) at TORCH_DTYPE, then the TorchSharp decode loop's PyTorch
#      twin (scripts/torch-step-compare/decode_loop.py, the same-card anchor, pytorch-loop.txt);
#   3. sampled decoding (--set temperature=0.7,top_p=0.9) of SERVE_MODEL at batch 1 and 64 on both backends;
#   4. int4 weights (--dtype int4, MatMulNBits) on onnx:cuda for INT4_MODELS at INT4_BATCHES;
#   5. fp8 weights (--dtype fp8, E4M3 with fp32 block scales, MatMulBlockQuantizedFp8Weight) on onnx:cuda for
#      FP8_MODELS at FP8_BATCHES, and at batch 1 also with --set cuda_graph=1 (onnx-fp8-graph-generate-*);
#   6. `serve --backend onnx:cuda` of SERVE_MODEL driven by the harness's own client at concurrency 1 and 64,
#      paired with the in-process greedy points in serving-tax.txt (the serving tax on a card);
#   7. the EXTRA_BATCHES points (batch 16) of step 1 and 2, if time is left.
# generate runs state MBU/MFU against the catalog peak and against the ceilings just measured.
# Every result JSON, its log, nvidia-smi, the hardware fingerprint, device-decoders.log and summary.txt go
# under "$OUT" as soon as each finishes. No run goes past BUDGET_S: each run's time limit is
# min(RUN_TIMEOUT_S, what is left), and a case with less than MIN_RUN_S left is skipped (logged).
# The device brings back at most 8 files from its $OUT: give TARBALL=$OUT/r.tgz and OUT=/tmp/o, and the
# script rewrites the tarball after every case, so a call cut off still brings back what it had.
#
# Prepare (on the dev machine, from the repository root; docs/decoders.md, "The next device session"):
#   ../shared/device/pack.sh src/Harness.Cli/Harness.Cli.csproj     (then stage .device and the ORT parts)
# Run on the device (after staging; the call's timeout_s at least BUDGET_S + 30):
#   TARBALL=$OUT/r.tgz OUT=/tmp/o bash scripts/device-decoders.sh
# Environment:
#   OUT             where results go (required)
#   TARBALL         a .tgz of OUT rewritten after every case (default: none); must not lie inside OUT
#   HD              staged harness folder (default /tmp/hd: on-device.sh unpacks there, so leave it)
#   BUDGET_S        no run goes on past this many seconds from the start (default 540)
#   RUN_TIMEOUT_S   limit for one harness run (default 120); MIN_RUN_S: skip a case with less left (default 20)
#   ONLY            run only the cases whose label matches this regex (e.g. 'torch.*gpt2', 'int4', 'fp8')
#   TORCH_LIB_DIR   libtorch folder for torch:* (default: the machine's PyTorch torch/lib, found with python3)
#   DEVICE, MODELS, BATCHES, EXTRA_BATCHES, PROMPT, NEW, GEMM_SIZE, COPY_MIB, REPEATS, TORCH_DTYPE, ONNX_DTYPE,
#   SERVE_MODEL, INT4_MODELS, INT4_BATCHES, FP8_MODELS, FP8_BATCHES
#                   override the plan (defaults: cuda, "gpt2-124m llama-1b", "1 64", "16", 128, 128, 8192,
#                   1024, 20, bf16, fp16, gpt2-124m, llama-1b, "1 64", llama-1b, "1 64").
# A dry run on a CPU box (the CUDA-graph cases and pytorch-loop are skipped there, fp8 is refused with
# exit 2; the staged app has no CPU libtorch of its own: TORCH_LIB_DIR names the NuGet one), from the repo root
# after pack.sh (it stages .device itself; or the parts of device-stage.sh split, copied to /tmp/hd-stage):
#   DEVICE=cpu MODELS="tiny-gpt2-test tiny-llama-test" BATCHES="1 4" EXTRA_BATCHES=2 PROMPT=8 NEW=8 \
#   SERVE_MODEL=tiny-gpt2-test INT4_MODELS=tiny-gpt2-test GEMM_SIZE=512 COPY_MIB=64 \
#   REPEATS=1 TORCH_DTYPE=fp32 ONNX_DTYPE=fp32 \
#   TORCH_LIB_DIR=$(ls -d ~/.nuget/packages/libtorch-cpu-linux-x64/*/runtimes/linux-x64/native | tail -1) \
#   TARBALL=/tmp/r.tgz OUT=/tmp/o bash scripts/device-decoders.sh
set -uo pipefail

OUT=${OUT:?set OUT to the folder results should go to}
TARBALL=${TARBALL:-}
HD=${HD:-/tmp/hd}
BUDGET_S=${BUDGET_S:-540}
RUN_TIMEOUT_S=${RUN_TIMEOUT_S:-120}
MIN_RUN_S=${MIN_RUN_S:-20}
ONLY=${ONLY:-.}
DEVICE=${DEVICE:-cuda}
MODELS=${MODELS:-gpt2-124m llama-1b}
BATCHES=${BATCHES:-1 64}
EXTRA_BATCHES=${EXTRA_BATCHES:-16}
PROMPT=${PROMPT:-128}
NEW=${NEW:-128}
GEMM_SIZE=${GEMM_SIZE:-8192}
COPY_MIB=${COPY_MIB:-1024}
REPEATS=${REPEATS:-20}
TORCH_DTYPE=${TORCH_DTYPE:-bf16}
ONNX_DTYPE=${ONNX_DTYPE:-fp16}
SERVE_MODEL=${SERVE_MODEL:-gpt2-124m}
INT4_MODELS=${INT4_MODELS:-llama-1b}
INT4_BATCHES=${INT4_BATCHES:-1 64}
FP8_MODELS=${FP8_MODELS:-llama-1b}
FP8_BATCHES=${FP8_BATCHES:-1 64}
start=$(date +%s)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[ -z "$TARBALL" ] || TARBALL=$(cd "$(dirname "$TARBALL")" && pwd)/$(basename "$TARBALL")
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.." || exit 2   # the repository root: models/, scripts/ and .device are read from there
case "$TARBALL" in
  "$OUT"/*) echo "device-decoders: TARBALL ($TARBALL) must not lie inside OUT ($OUT)" >&2; exit 2 ;;
esac

log() { printf '[device-decoders %4ds] %s\n' "$(( $(date +%s) - start ))" "$*" | tee -a "$OUT/device-decoders.log" >&2; }
left() { echo $(( BUDGET_S - ($(date +%s) - start) )); }
# The tarball of everything so far, replaced whole (a cut-off call brings back the last complete one).
bring_back() {
  [ -n "$TARBALL" ] || return 0
  tar czf "$TARBALL.part" -C "$OUT" . 2>/dev/null && mv -f "$TARBALL.part" "$TARBALL"
}
# Whether a case runs: ONLY selects it and at least MIN_RUN_S are left (else logged as skipped).
wanted() {
  [[ $1 =~ $ONLY ]] || return 1
  if [ -n "${no_ort_cuda:-}" ] && [[ $1 == onnx-* ]]; then log "skip $1 (no ONNX Runtime CUDA provider)"; return 1; fi
  local l
  l=$(left)
  if [ "$l" -lt "$MIN_RUN_S" ]; then log "skip $1 (${l}s of the ${BUDGET_S}s budget left)"; return 1; fi
}
limit() { local l; l=$(left); echo $(( l < RUN_TIMEOUT_S ? l : RUN_TIMEOUT_S )); }
# Why a run failed, in one line: its exit status and the harness's sentence (or the log's last line).
why() {
  local rc=$1 logfile=$2 line
  [ "$rc" -eq 0 ] && return 0
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then printf ': timed out'; return 0; fi
  if [ "$rc" -eq 1 ] && grep -q '^Failed conditions:' "$logfile" 2>/dev/null; then
    printf ': INVALID (%s)' "$(grep -A1 -m1 '^Failed conditions:' "$logfile" | tail -1 | sed 's/^- //' | cut -c1-200)"
    return 0
  fi
  line=$(grep -m1 -E '^(harness|Unhandled|Fatal|error)' "$logfile" 2>/dev/null || true)
  [ -n "$line" ] || line=$(grep -v '^[[:space:]]*$' "$logfile" 2>/dev/null | tail -1)
  printf ': %s' "${line:0:300}"
}

# --- the harness: staged by scripts/device-stage.sh (parts in /tmp/hd-stage, joined here) or from .device; unpacked
#     once through on-device.sh, then the app is called directly with its environment.
if [ ! -x "$HD/on-device.sh" ] && ls "${STAGE:-/tmp/hd-stage}"/stage-part-* >/dev/null 2>&1; then
  HD=$HD bash "$here/device-stage.sh" join 2>&1 | while IFS= read -r line; do log "$line"; done
fi
if [ ! -x "$HD/on-device.sh" ] && [ -x .device/on-device.sh ]; then
  bash .device/on-device.sh stage >/dev/null
fi
[ -x "$HD/on-device.sh" ] || { log "no staged harness in $HD (run pack.sh and stage .device first)"; bring_back; exit 2; }
bash "$HD/on-device.sh" run -- hw >"$OUT/hw.txt" 2>&1 || log "harness hw failed (see hw.txt)"
grep '^on-device:' "$OUT/hw.txt" | while IFS= read -r line; do log "$line"; done
# Without ONNX Runtime's CUDA provider every onnx:cuda case would fail the same way: they are skipped (logged).
no_ort_cuda=""
if [ "$DEVICE" = cuda ] && grep -q '^on-device:.*CUDA EP unavailable' "$OUT/hw.txt"; then
  no_ort_cuda=1
  log "the onnx:cuda cases are skipped: ONNX Runtime's CUDA provider is not staged (device-stage.sh, docs/decoders.md)"
fi
if [ ! -f "$HD/app.name" ] || [ ! -x "$HD/dotnet/dotnet" ]; then
  log "the harness did not unpack in $HD (see hw.txt)"; bring_back; exit 2
fi
torchlib=${TORCH_LIB_DIR:-$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))' 2>/dev/null || true)}
site=$(dirname "$(dirname "$torchlib")")
export DOTNET_ROOT="$HD/dotnet"
export LD_LIBRARY_PATH="$torchlib:$site/nvidia/cu13/lib:$site/nvidia/cudnn/lib:${LD_LIBRARY_PATH:-}"
# ONNX Runtime's CUDA provider needs these (the harness refuses onnx:cuda without them): where pip's wheels put
# them somewhere else than nvidia/cu13/lib and nvidia/cudnn/lib, their folder is added; each is logged.
if [ "$DEVICE" = cuda ]; then
  found=""
  for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9; do
    where=$(find "$site/nvidia" /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib -name "$lib" -print -quit 2>/dev/null)
    if [ -z "$where" ]; then found="$found $lib: MISSING;"; continue; fi
    found="$found $lib: ${where%/*};"
    case ":$LD_LIBRARY_PATH:" in *":${where%/*}:"*) ;; *) LD_LIBRARY_PATH="$LD_LIBRARY_PATH:${where%/*}" ;; esac
  done
  log "CUDA libraries:$found"
fi
export TORCH_LIB_DIR="$torchlib"
export HARNESS_CACHE=${HARNESS_CACHE:-/tmp/harness-cache}
app="$HD/app/$(cat "$HD/app.name").dll"

nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,power.limit,driver_version --format=csv \
  >>"$OUT/nvidia-smi.txt" 2>&1 || true
log "GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1); torch lib: ${torchlib:-none}; budget ${BUDGET_S}s"

# --- one run: label, then harness arguments (after `run`). Never fails the script.
run() {
  local label=$1; shift
  wanted "$label" || return 0
  local lim t0 rc
  lim=$(limit)
  log "run $label"
  t0=$(date +%s)
  timeout --kill-after=5 "$lim" "$HD/dotnet/dotnet" "$app" run "$@" -o "$OUT/$label.json" >"$OUT/$label.log" 2>&1
  rc=$?
  log "  $label: exit $rc in $(( $(date +%s) - t0 ))s$(why "$rc" "$OUT/$label.log")"
  bring_back
  return 0
}
# A CUDA-only case (--set cuda_graph=1): skipped, and logged, on any other device.
run_cuda() {
  if [ "$DEVICE" != cuda ]; then
    [[ $1 =~ $ONLY ]] && log "skip $1 (cuda only)"
    return 0
  fi
  run "$@"
}

measure=(--duration 3s --min-requests 7 --max-duration 60s --warmup-requests 2 --tail p50)
gen=(--prompt-tokens "$PROMPT" --new-tokens "$NEW")
sampled=(--set 'temperature=0.7,top_p=0.9')
graph=(--set cuda_graph=1)
ceil_torch="$OUT/torch-gemm-$TORCH_DTYPE.json,$OUT/torch-copy.json,$OUT/torch-read.json"
ceil_onnx="$OUT/onnx-gemm-$ONNX_DTYPE.json,$OUT/onnx-copy.json,$OUT/onnx-read.json"
# --set ceilings=FILE,... of the ceiling results that came back (none: no option).
ceilings() {
  local list="" f
  for f in ${1//,/ }; do [ -s "$f" ] && list="${list:+$list,}$f"; done
  [ -n "$list" ] && printf -- '--set\nceilings=%s\n' "$list"
  return 0
}
ct=(); co=()
refresh_ceilings() { mapfile -t ct < <(ceilings "$ceil_torch"); mapfile -t co < <(ceilings "$ceil_onnx"); }

# One served point: serve with C slots, the harness's client at concurrency C (the same prompt and new
# tokens, greedy, ignore_eos), the server stopped after. The whole point stays inside one run's limit.
served() {
  local c=$1 label="onnx-served-$SERVE_MODEL-c$1"
  wanted "$label" || return 0
  local lim t0 deadline url="" pid rc
  lim=$(limit)
  t0=$(date +%s)
  deadline=$(( t0 + lim ))
  log "run $label"
  timeout --kill-after=5 "$lim" "$HD/dotnet/dotnet" "$app" serve --backend "onnx:$DEVICE" --model-config "$SERVE_MODEL" --port 0 \
    --max-batch "$c" --max-queue "$c" --batch-window 500ms >"$OUT/$label-server.log" 2>&1 &
  pid=$!
  while [ "$(date +%s)" -lt "$deadline" ]; do
    url=$(grep -o -m1 ' on http://[^ ]*' "$OUT/$label-server.log" | cut -c5-)
    if [ -n "$url" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  if [ -z "$url" ]; then
    log "  $label: serve did not listen in $(( $(date +%s) - t0 ))s$(why 1 "$OUT/$label-server.log")"
  else
    timeout --kill-after=5 "$(( deadline - $(date +%s) > 1 ? deadline - $(date +%s) : 1 ))" "$HD/dotnet/dotnet" "$app" run generate \
      --backend "openai:${url%/}/v1" --model-config "$SERVE_MODEL" "${gen[@]}" --scenario "concurrency:$c" --set api=completions \
      --server-metrics off --duration 3s --min-requests $(( 7 * c )) --max-duration 60s --warmup-requests $(( 2 * c )) --tail p50 \
      -o "$OUT/$label.json" >"$OUT/$label.log" 2>&1
    rc=$?
    log "  $label: exit $rc in $(( $(date +%s) - t0 ))s$(why "$rc" "$OUT/$label.log")"
  fi
  kill "$pid" 2>/dev/null
  timeout 10 tail --pid="$pid" -f /dev/null || kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  bring_back
  return 0
}

# At exit (also after a budget stop or an error): a one-screen summary, the serving tax, the tarball.
finish() {
  python3 - "$OUT" <<'PY' >"$OUT/summary.txt" 2>&1 || true
import json, os, sys
out = sys.argv[1]
rows = []
for f in sorted(os.listdir(out)):
    if f.endswith(".log") and not f.endswith("-server.log") and f != "device-decoders.log":
        if not os.path.exists(os.path.join(out, f[:-4] + ".json")):
            rows.append(f"{f[:-4]:40s} no result (see {f})")
        continue
    if not f.endswith(".json"):
        continue
    try:
        d = json.load(open(os.path.join(out, f)))
        m = d.get("metrics") or {}
    except (OSError, ValueError, AttributeError) as e:
        rows.append(f"{f[:-5]:40s} unreadable: {e}")
        continue
    def g(k, scale=1.0, fmt="{:.1f}"):
        v = m.get(k)
        return fmt.format(v * scale) if isinstance(v, (int, float)) and not isinstance(v, bool) else "-"
    tp = m.get("tpot_ms") if isinstance(m.get("tpot_ms"), dict) else {}
    p50 = tp.get("p50")
    rows.append(f"{f[:-5]:40s} ok={m.get('requests_ok')} tok/s={g('output_tokens_per_s')} decode_tok/s={g('decode_tokens_per_s')} "
                f"tpot_p50={p50 if p50 is None else round(p50, 3)} mbu={g('mbu', 100)}% mbu_meas={g('mbu_measured', 100)}% "
                f"mfu={g('mfu', 100)}% tflops={g('achieved_tflops')} GB/s={g('achieved_gb_per_s', 1, '{:.0f}')} "
                f"W={g('avg_power_w', 1, '{:.0f}')}")
print("\n".join(rows))
PY
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
  cat "$OUT/summary.txt" "$OUT/serving-tax.txt" >&2
  [ -s "$OUT/pytorch-loop.txt" ] && cat "$OUT/pytorch-loop.txt" >&2
  log "done"
  bring_back
}
trap finish EXIT

# 1. ONNX Runtime: its ceilings, then the issue's table (gpt2-124m, llama-1b; batch 1, 64), eager and CUDA graph.
run "onnx-gemm-$ONNX_DTYPE" gemm -b "onnx:$DEVICE" --dtype "$ONNX_DTYPE" --set size="$GEMM_SIZE" --set repeats="$REPEATS" "${measure[@]}"
run onnx-read copy -b "onnx:$DEVICE" --set mode=read --set size_mib="$COPY_MIB" --set repeats="$REPEATS" "${measure[@]}"
run onnx-copy copy -b "onnx:$DEVICE" --set size_mib="$COPY_MIB" --set repeats="$REPEATS" "${measure[@]}"
refresh_ceilings
onnx_generate() {  # model batch: eager, then the decode step captured as a CUDA graph (fixed shapes, replayed)
  run "onnx-generate-$1-b$2" generate -b "onnx:$DEVICE" --model-config "$1" --batch "$2" "${gen[@]}" "${measure[@]}" "${co[@]}"
  run_cuda "onnx-graph-generate-$1-b$2" generate -b "onnx:$DEVICE" --model-config "$1" --batch "$2" "${graph[@]}" "${gen[@]}" \
    "${measure[@]}" "${co[@]}"
}
torch_generate() {
  run "torch-generate-$1-b$2" generate -b "torch:$DEVICE" --model-config "$1" --batch "$2" "${gen[@]}" "${measure[@]}" "${ct[@]}"
}
for model in $MODELS; do
  for batch in $BATCHES; do onnx_generate "$model" "$batch"; done
done

# 2. TorchSharp: its ceilings and the same points, then the same decode loop in PyTorch eager on the same card
#    (the anchor of "a TorchSharp step within 1.2x of PyTorch": decode_loop.py mirrors the modules op for op).
run "torch-gemm-$TORCH_DTYPE" gemm -b "torch:$DEVICE" --dtype "$TORCH_DTYPE" --set size="$GEMM_SIZE" --set repeats="$REPEATS" "${measure[@]}"
run torch-read copy -b "torch:$DEVICE" --set mode=read --set size_mib="$COPY_MIB" --set repeats="$REPEATS" "${measure[@]}"
run torch-copy copy -b "torch:$DEVICE" --set size_mib="$COPY_MIB" --set repeats="$REPEATS" "${measure[@]}"
refresh_ceilings
for model in $MODELS; do
  for batch in $BATCHES; do torch_generate "$model" "$batch"; done
done
if [ "$DEVICE" != cuda ]; then
  [[ pytorch-loop =~ $ONLY ]] && log "skip pytorch-loop (cuda only)"
elif wanted pytorch-loop; then
  log "run pytorch-loop"
  t0=$(date +%s)
  # shellcheck disable=SC2046  # one argument per model file
  timeout --kill-after=5 "$(limit)" python3 scripts/torch-step-compare/decode_loop.py --device cuda --dtype "$TORCH_DTYPE" \
    --batch "$(xargs <<<"$BATCHES" | tr ' ' ,)" --prompt-tokens "$PROMPT" --new-tokens "$NEW" --reps 5 \
    $(for m in $MODELS; do printf 'models/%s.json ' "$m"; done) >"$OUT/pytorch-loop.txt" 2>&1
  rc=$?
  log "  pytorch-loop: exit $rc in $(( $(date +%s) - t0 ))s$(why "$rc" "$OUT/pytorch-loop.txt")"
  bring_back
fi

# 3. Sampled decoding (issue 26 item 5) beside the greedy points of steps 1 and 2: labels
#    {onnx,torch}-sampled-$SERVE_MODEL-b{1,64}.
for batch in 1 64; do
  run "onnx-sampled-$SERVE_MODEL-b$batch" generate -b "onnx:$DEVICE" --model-config "$SERVE_MODEL" --batch "$batch" "${sampled[@]}" \
    "${gen[@]}" "${measure[@]}" "${co[@]}"
  run "torch-sampled-$SERVE_MODEL-b$batch" generate -b "torch:$DEVICE" --model-config "$SERVE_MODEL" --batch "$batch" "${sampled[@]}" \
    "${gen[@]}" "${measure[@]}" "${ct[@]}"
done

# 4. int4 weights on onnx:cuda (issue 32): MatMulNBits (block 32, symmetric, fp16 activations and scales).
#    ONLY=int4 runs just these.
for model in $INT4_MODELS; do
  for batch in $INT4_BATCHES; do
    run "onnx-int4-generate-$model-b$batch" generate -b "onnx:$DEVICE" --model-config "$model" --dtype int4 --batch "$batch" \
      "${gen[@]}" "${measure[@]}" "${co[@]}"
  done
done

# 5. fp8 weights on onnx:cuda (issue 32): E4M3 weights, one fp32 scale per block of 128, fp16 activations, through
#    ONNX Runtime's CUDA contrib op com.microsoft.MatMulBlockQuantizedFp8Weight; refused on onnx:cpu (exit 2, logged).
#    Batch 1 also as a CUDA graph (onnx-fp8-graph-generate-*). ONLY=fp8 runs just these.
for model in $FP8_MODELS; do
  for batch in $FP8_BATCHES; do
    run "onnx-fp8-generate-$model-b$batch" generate -b "onnx:$DEVICE" --model-config "$model" --dtype fp8 --batch "$batch" \
      "${gen[@]}" "${measure[@]}" "${co[@]}"
    [ "$batch" = 1 ] && run_cuda "onnx-fp8-graph-generate-$model-b1" generate -b "onnx:$DEVICE" --model-config "$model" --dtype fp8 \
      --batch 1 "${graph[@]}" "${gen[@]}" "${measure[@]}" "${co[@]}"
  done
done

# 6. The serving tax: serve --backend onnx:$DEVICE (--max-batch C, a batch window so that a round's C requests join
#    one iteration, as generate's batch does) driven by the harness's own client (generate --backend openai:URL
#    --scenario concurrency:C), labels onnx-served-$SERVE_MODEL-c{1,64}; serving-tax.txt pairs them with
#    onnx-generate-$SERVE_MODEL-b{1,64} at exit.
served 1
served 64

# 7. If time is left: the EXTRA_BATCHES points (batch 16) on both backends.
for model in $MODELS; do
  for batch in $EXTRA_BATCHES; do
    onnx_generate "$model" "$batch"
    torch_generate "$model" "$batch"
  done
done
