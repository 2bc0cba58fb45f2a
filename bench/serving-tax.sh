#!/usr/bin/env bash
# The serving tax (issue 26 item 4), side by side in one run: for each model, backend and concurrency C,
# `harness run generate` in-process (batch C) against `harness serve` driven by the harness's own client
# (`run generate --backend openai:URL`, C in flight, in its own process), the same decoder, prompt and new
# tokens, interleaved (in-process, served, in-process, served...) for --reps repetitions; TTFT and TPOT
# p50 of each side against the targets, and the server's CPU outside the decoder per token. The table goes
# to stdout and to results/<machine>/serving-tax_<UTC date>.md (--out FILE, or --out - for stdout only).
#   bench/serving-tax.sh [--models gpt2-124m,llama-1b] [--backends onnx:cpu] [--concurrency 1,8] [--reps 3]
#                        [--requests 8] [--warmup-rounds 1] [--prompt-tokens N --new-tokens M] [--threads N]
#                        [--spin 0|1] [--batch-window 50ms] [--out FILE]
# A --models entry may carry its own lengths: gpt2-124m:128:32 (the defaults: gpt2-124m 128/32, llama-1b 64/16).
# The defaults take about 10-12 minutes on 2 cores and the whole machine: run it on a quiet one.
# Smallest proof run: bench/serving-tax.sh --models tiny-gpt2-test:16:4 --concurrency 1 --reps 1 --requests 2 --out -
set -euo pipefail
cd "$(dirname "$0")/.."
# Builds the bench and, through its project reference, src/Harness.Cli (the harness it runs).
dotnet build bench/Harness.Serving.Bench -c Release -nologo -v quiet -clp:ErrorsOnly
# TorchSharp needs a newer libstdc++ than Debian 12's (scripts/torch-compat.sh): the harness then runs through its muxer.
case " $* " in
  *torch:*) DOTNET=$(scripts/torch-compat.sh); export DOTNET_ROOT; DOTNET_ROOT=$(dirname "$DOTNET"); set -- --dotnet "$DOTNET" "$@" ;;
esac
exec dotnet bench/Harness.Serving.Bench/bin/Release/net10.0/Harness.Serving.Bench.dll "$@"
