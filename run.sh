#!/usr/bin/env bash
# ./run.sh            restore, build (Release) and run the default suite on what this machine has
# ./run.sh test       run the whole test suite
# ./run.sh ARGS...    pass ARGS to harness, e.g. ./run.sh run resnet18 --duration 10s
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

harness_dll=src/Harness.Cli/bin/Release/net10.0/harness.dll

build() {
  # Incremental: a no-op when nothing changed since the last build.
  dotnet build Harness.sln -c Release -nologo -v quiet -clp:ErrorsOnly
}

# Through the TorchSharp compat muxer when scripts/torch-compat.sh has prepared one (./run.sh test
# does), so torch:* backends load on Debian 12 too; else the system dotnet.
harness() {
  local dotnet=dotnet compat
  if compat=$(scripts/torch-compat.sh --check 2>/dev/null | tail -n 1) && [ -x "$compat" ]; then
    dotnet=$compat
    export DOTNET_ROOT; DOTNET_ROOT=$(dirname "$compat")
  fi
  "$dotnet" "$harness_dll" "$@"
}

run_tests() {
  build
  scripts/serving-test-deps.sh
  # TorchSharp 0.107 needs a newer libstdc++ than Debian 12 has: test through the patched muxer
  # that scripts/torch-compat.sh prepares (a no-op where the system libstdc++ suffices).
  local dotnet=dotnet
  if ls tests/*Torch* >/dev/null 2>&1; then
    dotnet=$(scripts/torch-compat.sh)
    export DOTNET_ROOT; DOTNET_ROOT=$(dirname "$dotnet")
  fi
  local log; log=$(mktemp)
  set +e
  "$dotnet" test Harness.sln -c Release --no-build -nologo 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  # One plain closing line with the totals of every test project.
  awk '/(Passed|Failed)!  -/ { for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
       END { gsub(",", "", p); printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
  rm -f "$log"
  # The engine's own cost (BenchmarkDotNet, short mode): fails on a missed target (1 µs per request,
  # no allocation per recorded sample).
  if [ "$rc" = 0 ]; then
    dotnet run -c Release --no-build --project bench/Harness.Benchmarks -- --short || rc=$?
  fi
  return "$rc"
}

default_suite() {
  build
  local status=0
  echo "Default suite on $(harness hw | sed -n 's/.*"model": "\(.*\)".*/\1/p' | head -n 1)"
  harness run resnet18 --backend onnx:cpu --scenario single --warmup 5s --duration 45s || status=$?
  harness run minilm --backend onnx:cpu --scenario single --warmup 5s --duration 45s || status=$?
  if harness list | grep -q "onnx:cuda *usable"; then
    harness run resnet18 --backend onnx:cuda --scenario single --warmup 5s --duration 30s || status=$?
    harness run minilm --backend onnx:cuda --scenario concurrency:4 --batch 8 --warmup 5s --duration 30s || status=$?
  fi
  return "$status"
}

case "${1:-}" in
  "") default_suite ;;
  test) shift; run_tests "$@" ;;
  *) build; harness "$@" ;;
esac
