#!/usr/bin/env bash
# ResNet-18 through `harness run resnet18` and through onnxruntime-node on the same model file, with the
# same threads, warm-up and number of runs; prints both nearest-rank p50s and their ratio.
# The two alternate (harness, node, harness, node...) so that drift in the machine's speed hits both.
#
# Usage: bench/ort-node/compare.sh [--runs 1000] [--warmup 250] [--rounds 2] [--threads 2] [--config Release]
# Needs: dotnet (builds src/Harness.Cli if its output is missing), node >= 18 and npm (npm ci on first use).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=1000 warmup=250 rounds=2 threads=2 config=Release

while [ $# -gt 0 ]; do
  case "$1" in
    --runs|--warmup|--rounds|--threads|--config)
      [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value." >&2; exit 2; }
      declare "${1#--}=$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option '$1' (see --help)." >&2; exit 2 ;;
  esac
done
for v in runs rounds threads; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --$v must be a positive integer." >&2; exit 2; }
done
[[ "$warmup" =~ ^[0-9]+$ ]] || { echo "compare.sh: --warmup must be a whole number of requests." >&2; exit 2; }
# The result file keeps every sample up to 20,000 (beyond, every k-th); the pooled p50 needs them all.
[ "$runs" -le 20000 ] || { echo "compare.sh: --runs must be at most 20000." >&2; exit 2; }

cli="$root/src/Harness.Cli/bin/$config/net10.0"
if [ ! -f "$cli/harness.dll" ] || [ ! -f "$cli/models/ResNet18.onnx" ]; then
  echo "== building src/Harness.Cli ($config)"
  dotnet build -c "$config" "$root/src/Harness.Cli" -nologo -v q -clp:ErrorsOnly
fi
model="$cli/models/ResNet18.onnx"

if [ ! -d "$here/node_modules/onnxruntime-node" ]; then
  echo "== npm ci (onnxruntime-node)"
  (cd "$here" && npm ci --no-audit --no-fund)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== model $model (sha256 $(sha256sum "$model" | cut -c1-16)...)"
echo "== $rounds rounds of: harness then onnxruntime-node; each $warmup warm-up + $runs measured runs, $threads intra-op threads"
for ((r = 1; r <= rounds; r++)); do
  # Exit 1 means the run finished but is judged invalid (report.mjs says so); anything else is a failure.
  rc=0
  dotnet "$cli/harness.dll" run resnet18 --backend onnx:cpu --scenario single \
    --threads "$threads" --inter-op-threads 1 --optimization all \
    --warmup-requests "$warmup" --duration 0s --min-requests "$runs" \
    --out "$work/harness-$r.json" > "$work/harness-$r.log" 2>&1 || rc=$?
  if [ "$rc" -gt 1 ] || [ ! -f "$work/harness-$r.json" ]; then
    echo "compare.sh: harness failed in round $r (exit $rc):" >&2
    tail -20 "$work/harness-$r.log" >&2
    exit 1
  fi
  node "$here/bench.mjs" --model "$model" --threads "$threads" --warmup "$warmup" --runs "$runs" --out "$work/node-$r.json" > /dev/null
  node "$here/report.mjs" --round "$r" --load "$(cut -d' ' -f1 /proc/loadavg)" "$work/harness-$r.json" "$work/node-$r.json"
done

node "$here/report.mjs" --pooled "$work"/harness-*.json -- "$work"/node-*.json
