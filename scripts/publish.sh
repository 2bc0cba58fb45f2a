#!/usr/bin/env bash
# publish.sh - a self-contained linux-x64 harness: a folder and a tarball that run with no .NET on the machine.
#
# Usage:
#   scripts/publish.sh [--cuda] [--no-torch] [--no-tarball] [--out DIR]
#
#   --cuda       keep ONNX Runtime's CUDA and TensorRT providers (onnx:cuda; about 290 MB more). Without
#                it they are left out and onnx:cuda says it is unusable.
#   --no-torch   leave out the packaged CPU libtorch (about 500 MB); torch:* then needs --libtorch DIR or
#                TORCH_LIB_DIR (a PyTorch install's torch/lib, which brings CUDA too).
#   --no-tarball only the folder (the Containerfile's build stage)
#   --out DIR    where the folder and tarball go (default: artifacts/ in the clone)
#
# Writes DIR/harness-VERSION-linux-x64[-cuda][-notorch]/ (run its ./harness, or put the folder on PATH)
# and DIR/harness-VERSION-linux-x64[...].tar.gz, and prints the tarball's path (the folder's with
# --no-tarball) as the last line of stdout.
# The models (ResNet-18, MiniLM) and model configs travel inside the folder (models/).
# TorchSharp needs GCC 13's libstdc++ (GLIBCXX_3.4.32): a self-contained build cannot use the Debian 12
# compat (scripts/torch-compat.sh), so torch:* from it runs on Debian 13, Ubuntu 24.04, or in the image.
#
# Exit codes: 0 ok, 1 failed, 2 bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

cuda=0 torch=1 tarball=1 out=artifacts
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) cuda=1 ;;
    --no-torch) torch=0 ;;
    --no-tarball) tarball=0 ;;
    --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
name=harness-$version-linux-x64
[ "$cuda" = 1 ] && name=$name-cuda
[ "$torch" = 0 ] && name=$name-notorch
mkdir -p "$out"
out=$(cd "$out" && pwd)
dir=$out/$name

rm -rf "$dir" "$dir.tar.gz"
echo "publish.sh: dotnet publish (self-contained, linux-x64) to $dir" >&2
# PackAsTool is for `dotnet pack` (./run.sh install); a self-contained app is not a tool. Its restore
# and build go to artifacts/build (reused by the next publish), never to the clone's obj/ and bin/,
# which the framework-dependent build and the tests use.
dotnet publish src/Harness.Cli/Harness.Cli.csproj -c Release -r linux-x64 --self-contained \
  --artifacts-path artifacts/build -p:PackAsTool=false -nologo -v quiet -clp:ErrorsOnly -o "$dir"

if [ "$cuda" = 0 ]; then
  rm -f "$dir"/libonnxruntime_providers_cuda.so "$dir"/libonnxruntime_providers_tensorrt.so
fi
if [ "$torch" = 0 ]; then
  # libtorch and its test and Python pieces; TorchSharp's own glue (libLibTorchSharp.so) stays.
  find "$dir" -maxdepth 1 \( -name 'libtorch*.so' -o -name 'libc10*.so' -o -name 'libgomp-*.so*' -o -name 'libshm.so' \
    -o -name 'libaoti_custom_ops.so' -o -name 'libbackend_with_compiler.so' -o -name 'libjitbackend_test.so' \
    -o -name 'libnnapi_backend.so' \) -delete
fi
# libtorch's test and Python bindings are never loaded by TorchSharp.
rm -f "$dir"/libtorch_python.so "$dir"/libtorchbind_test.so "$dir"/libjitbackend_test.so "$dir"/libbackend_with_compiler.so
# Other platforms' native assets (SkiaSharp for Windows/macOS...) that a linux-x64 publish still copies. llama.cpp's
# CPU builds stay: LLamaSharp picks runtimes/linux-x64/native/{avx512,avx2,avx,noavx}/libllama.so (and its ggml
# libraries) under the app's folder at run time, from the CPU's features.
find "$dir/runtimes" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} + 2>/dev/null || true
find "$dir/runtimes/linux-x64" -mindepth 1 -maxdepth 1 ! -name native -exec rm -rf {} + 2>/dev/null || true
find "$dir/runtimes/linux-x64/native" -mindepth 1 -maxdepth 1 ! \( -name avx512 -o -name avx2 -o -name avx -o -name noavx \) \
  -exec rm -rf {} + 2>/dev/null || true
for v in avx512 avx2 avx noavx; do
  [ -f "$dir/runtimes/linux-x64/native/$v/libllama.so" ] || { echo "publish.sh: llama.cpp's $v build is missing from the folder" >&2; exit 1; }
done

if [ "$tarball" = 0 ]; then
  echo "publish.sh: folder $(du -sm "$dir" | cut -f1) MB" >&2
  printf '%s\n' "$dir"
  exit 0
fi
echo "publish.sh: tar $dir.tar.gz" >&2
compress=gzip
command -v pigz >/dev/null 2>&1 && compress=pigz
tar -C "$out" -cf - "$name" | "$compress" -1 >"$dir.tar.gz"
echo "publish.sh: folder $(du -sm "$dir" | cut -f1) MB, tarball $(du -sm "$dir.tar.gz" | cut -f1) MB" >&2
printf '%s\n' "$dir.tar.gz"
