#!/usr/bin/env bash
# quant-accuracy.sh - issue 32 item 5: accuracy of int8/int4 weights (MatMulNBits) and fp8 weights against fp32, stated,
# not gated (fp8 widened at load: ONNX Runtime's CPU provider has no fp8 kernel, so only its weights' rounding is measured).
# The same seeded model in fp32 and in each format on onnx:cpu; after each of PROMPTS seeded prompts (uniform random
# token ids) the next-token distribution: top-1 agreement with fp32 and the mean KL(fp32 || quantized), per format.
# Seeded weights are not trained ones: their next-token distributions are flatter, so agreement here is a lower bound
# on what a trained model of the same shape shows, and the KL a statement about these weights.
#
#   bench/quant-accuracy.sh [MODEL] [PROMPTS] [PROMPT_TOKENS]     # defaults: llama-1b 200 16
#   LEVELS=4,0 bench/quant-accuracy.sh                            # also accuracy_level 0 (fp32 compute; slow on CPU)
#   BLOCKS=32,64,128 KINDS=int4 bench/quant-accuracy.sh           # other blocks; formats among int8, int4, int4-zp, fp8
#   OUT=<file>   default results/<harness hw --label>/quant-accuracy_<model>_<UTC date>.md
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-llama-1b}; PROMPTS=${2:-200}; PROMPT_TOKENS=${3:-16}
dotnet build bench/Harness.Quant.Bench -c Release -nologo -v quiet -clp:ErrorsOnly >&2
dotnet build src/Harness.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >&2
LABEL=$(dotnet src/Harness.Cli/bin/Release/net10.0/harness.dll hw --label)
OUT=${OUT:-results/$LABEL/quant-accuracy_${MODEL}_$(date -u +%Y%m%d).md}
mkdir -p "$(dirname "$OUT")"
{
  echo "# Quantized weights' accuracy against fp32 ($MODEL)"
  echo
  echo "Measured by bench/quant-accuracy.sh at $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes') on $LABEL;"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  dotnet bench/Harness.Quant.Bench/bin/Release/net10.0/Harness.Quant.Bench.dll "$MODEL" "$PROMPTS" "$PROMPT_TOKENS"
  echo
  echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg). Speed is not measured here (bench/quant-speed.sh)."
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
