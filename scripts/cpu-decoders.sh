#!/usr/bin/env bash
# cpu-decoders.sh - the CPU figures of docs/decoders.md: ceilings (gemm, copy, read) and generate for
# llama-1b and gpt2-124m on ONNX Runtime and TorchSharp, backends interleaved, ROUNDS rounds (take
# medians: a shared CI machine is noisy). Results: $OUT/<round>/<name>.json and a summary; OUT
# defaults to results/<this machine's label>/decoders (harness hw --label).
#   ROUNDS=3 scripts/cpu-decoders.sh
# Both backends run with --set spin=0 (ONNX Runtime allow_spinning=0, libtorch OMP_WAIT_POLICY=PASSIVE):
# on an oversubscribed machine, spinning worker threads cost several times the step time.
set -uo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
LLAMA_PROMPT=${LLAMA_PROMPT:-32}; LLAMA_NEW=${LLAMA_NEW:-16}
GPT2_PROMPT=${GPT2_PROMPT:-64}; GPT2_NEW=${GPT2_NEW:-64}
dotnet build src/Harness.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >&2
DOTNET=$(scripts/torch-compat.sh); export DOTNET_ROOT; DOTNET_ROOT=$(dirname "$DOTNET")
harness() { "$DOTNET" src/Harness.Cli/bin/Release/net10.0/harness.dll "$@"; }
OUT=${OUT:-results/$(harness hw --label)/decoders}
m=(--warmup-requests 1 --tail p50 --set spin=0)
for round in $(seq 1 "$ROUNDS"); do
  R=$OUT/round$round; mkdir -p "$R"
  uptime >"$R/uptime.txt"
  for b in onnx torch; do
    harness run copy -b $b:cpu --set size_mib=512 --duration 5s --min-requests 7 "${m[@]}" -o "$R/$b-copy.json" >"$R/$b-copy.log" 2>&1
    harness run copy -b $b:cpu --set size_mib=512 --set mode=read --duration 5s --min-requests 7 "${m[@]}" -o "$R/$b-read.json" >"$R/$b-read.log" 2>&1
    harness run gemm -b $b:cpu --set size=2048 --duration 5s --min-requests 7 "${m[@]}" -o "$R/$b-gemm.json" >"$R/$b-gemm.log" 2>&1
  done
  # Every generate run states MBU against the best bandwidth measured by either backend this round.
  ceil=$(ls "$R"/*-copy.json "$R"/*-read.json "$R"/*-gemm.json 2>/dev/null | paste -sd, -)
  for b in onnx torch; do
    harness run generate -b $b:cpu --model-config llama-1b --prompt-tokens "$LLAMA_PROMPT" --new-tokens "$LLAMA_NEW" \
      --duration 10s --min-requests 3 "${m[@]}" --set ceilings="$ceil" -o "$R/$b-llama-1b.json" >"$R/$b-llama-1b.log" 2>&1
  done
  for b in onnx torch; do
    harness run generate -b $b:cpu --model-config gpt2-124m --prompt-tokens "$GPT2_PROMPT" --new-tokens "$GPT2_NEW" \
      --duration 10s --min-requests 7 "${m[@]}" --set ceilings="$ceil" -o "$R/$b-gpt2-124m.json" >"$R/$b-gpt2-124m.log" 2>&1
  done
  uptime >>"$R/uptime.txt"
done
python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, os, sys, statistics as st
out = sys.argv[1]
rounds = sorted(d for d in os.listdir(out) if d.startswith("round"))
names = sorted({f[:-5] for r in rounds for f in os.listdir(os.path.join(out, r)) if f.endswith(".json")})
def metric(name, key):
    vals = []
    for r in rounds:
        p = os.path.join(out, r, name + ".json")
        if os.path.exists(p):
            v = json.load(open(p))["metrics"].get(key)
            if isinstance(v, dict): v = v.get("p50")
            if isinstance(v, (int, float)): vals.append(v)
    return vals
print(f"rounds: {len(rounds)}; load averages: " + "; ".join(open(os.path.join(out, r, 'uptime.txt')).read().split('load average:')[-1].strip() for r in rounds))
print("| run | median | all rounds |\n|---|---:|---|")
for n in names:
    for key, scale, unit in [("achieved_gb_per_s", 1, "GB/s"), ("achieved_tflops", 1000, "GFLOP/s"), ("decode_tokens_per_s", 1, "decode tok/s"),
                             ("tpot_ms", 1, "TPOT p50 ms"), ("prefill_tokens_per_s", 1, "prefill tok/s"), ("decode_bytes_per_s", 1e-9, "decode GB/s"),
                             ("mbu_measured", 100, "% MBU (measured)"), ("mfu_measured", 100, "% prefill MFU (measured)")]:
        v = metric(n, key)
        if v:
            print(f"| {n} {unit} | {st.median(v)*scale:.3g} | {', '.join(f'{x*scale:.3g}' for x in v)} |")
PY
