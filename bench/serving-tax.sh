#!/usr/bin/env bash
# The serving tax (issue 15), side by side in one run: `harness run generate` in-process against
# `harness serve` + the bench's own streaming client, same model and prompt length, at
# concurrency 1 and 8; and the server's CPU outside the decoder per streamed token.
#   bench/serving-tax.sh [--backend onnx:cpu] [--model-config gpt2-124m] [--prompt-tokens 128] [--new-tokens 64] [--requests 24] [--concurrency 1,8] [--threads N]
# Takes the whole machine for a few minutes: run it on a quiet one.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build Harness.sln -c Release -nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/Harness.Serving.Bench/bin/Release/net10.0/Harness.Serving.Bench.dll "$@"
