#!/usr/bin/env bash
# genai-vs-harness.sh - issue 27 item 8: onnxruntime-genai 0.20.0 as a reference loop beside the harness's own, on the same
# seeded weights, in one job (bench/Harness.GenAI.Bench): the model exported as a GenAI folder (harness export --format genai:
# an Optimum-layout model.onnx in standard ops + genai_config.json, past_present_share_buffer false), greedy tokens checked
# equal for every loop, then decode tokens/s of each loop, interleaved repetitions (the order rotating), medians:
#   - harness (own GQA graph): the harness's decoder on its generated graph (GroupQueryAttention, cache updated in place);
#   - harness (the GenAI folder's graph): the harness's ConcatDecoder on the very model.onnx GenAI runs (LOOPS=3 only);
#   - onnxruntime-genai: its Generator on the folder.
#
#   bench/genai-vs-harness.sh        # MODEL=llama-1b BATCHES=1,8 PROMPT=64 NEW=32 REPS=3 THREADS=2 LOOPS=2
#
# OUT=<file>: default results/<harness hw --label>/genai-vs-harness_<model>_<UTC date>.txt. The machine's load average is
# printed before and after: the figures are only as good as the machine is still.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-llama-1b}; BATCHES=${BATCHES:-1,8}; PROMPT=${PROMPT:-64}; NEW=${NEW:-32}; REPS=${REPS:-3}; THREADS=${THREADS:-2}
LOOPS=${LOOPS:-2}
dotnet build bench/Harness.GenAI.Bench -c Release -nologo -v quiet -clp:ErrorsOnly >&2
dotnet build src/Harness.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >&2
LABEL=$(dotnet src/Harness.Cli/bin/Release/net10.0/harness.dll hw --label)
OUT=${OUT:-results/$LABEL/genai-vs-harness_${MODEL}_$(date -u +%Y%m%d).txt}
mkdir -p "$(dirname "$OUT")"
BIN=bench/Harness.GenAI.Bench/bin/Release/net10.0
{
  echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes') on $LABEL"
  echo "# native onnxruntime files deployed beside the bench: $(cd "$BIN" && find . -name 'libonnxruntime*.so*' | sort | tr '\n' ' ')"
  dotnet "$BIN/Harness.GenAI.Bench.dll" --model-config "$MODEL" --batch "$BATCHES" --prompt "$PROMPT" --new "$NEW" \
    --reps "$REPS" --threads "$THREADS" --loops "$LOOPS"
} | tee "$OUT"
