#!/usr/bin/env bash
# ./run.sh            restore, build (Release), prepare TorchSharp where needed, and run the default suite
# ./run.sh test       install what the tests use (as root on Debian; else say what will be skipped), run the whole suite
# ./run.sh install [--tool-path DIR]   pack the .NET tool `harness` and install it (global, or into DIR)
# ./run.sh ARGS...    pass ARGS to harness, e.g. ./run.sh run resnet18 --duration 10s
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

harness_dll=src/Harness.Cli/bin/Release/net10.0/harness.dll

# The harness and what it loads; incremental: a no-op when nothing changed since the last build.
build() {
  dotnet build src/Harness.Cli/Harness.Cli.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
}

# TorchSharp 0.107 needs a newer libstdc++ than Debian 12 has: scripts/torch-compat.sh prepares a
# patched dotnet muxer that loads one (a no-op where the system libstdc++ suffices, and when it is
# already prepared). Prints the dotnet to use; where it cannot be prepared, says why on stderr,
# prints the system dotnet and fails (torch:* backends then do not load; the rest works).
torch_dotnet() {
  local dotnet
  if dotnet=$(scripts/torch-compat.sh); then
    printf '%s\n' "$dotnet"
  else
    echo "run.sh: TorchSharp cannot load on this machine (scripts/torch-compat.sh failed, see above); torch:* backends will be unusable. As root it can install what it needs: sudo ./run.sh" >&2
    command -v dotnet
    return 1
  fi
}

# Through the TorchSharp compat muxer when scripts/torch-compat.sh has prepared one, so torch:*
# backends load on Debian 12 too; else the system dotnet. Called as `harness_exec=exec harness ...`,
# the harness replaces this shell instead of running as its child.
harness() {
  local dotnet=dotnet compat
  if compat=$(scripts/torch-compat.sh --check 2>/dev/null | tail -n 1) && [ -x "$compat" ]; then
    dotnet=$compat
    export DOTNET_ROOT; DOTNET_ROOT=$(dirname "$compat")
  fi
  ${harness_exec:-} "$dotnet" "$harness_dll" "$@"
}

run_tests() {
  local deps=0
  scripts/test-deps.sh || deps=$?
  if [ "$deps" = 2 ]; then
    echo "run.sh: the tests cannot be built here (see above)." >&2
    return 1
  fi
  dotnet build Harness.sln -c Release -nologo -v quiet -clp:ErrorsOnly
  # The npm package the serving tests run (needs npm, which scripts/test-deps.sh installs as root);
  # without it SdkTests fails and says so, the rest of the suite still runs.
  scripts/serving-test-deps.sh || echo "run.sh: the openai npm package could not be installed (see above); SdkTests will fail." >&2
  local dotnet=dotnet
  if ls tests/*Torch* >/dev/null 2>&1; then
    if ! dotnet=$(torch_dotnet) && [ "${HARNESS_REQUIRE_TORCH:-}" = 1 ]; then
      echo "run.sh: HARNESS_REQUIRE_TORCH=1, and TorchSharp cannot load here." >&2
      return 1
    fi
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
  torch_dotnet >/dev/null || true
  local status=0
  echo "Default suite on $(harness hw | sed -n 's/.*"model": "\(.*\)".*/\1/p' | head -n 1) (results/$(harness hw --label)/)"
  harness run resnet18 --backend onnx:cpu --scenario single --warmup 5s --duration 45s || status=$?
  harness run minilm --backend onnx:cpu --scenario single --warmup 5s --duration 45s || status=$?
  if harness list | grep -q "onnx:cuda *usable"; then
    harness run resnet18 --backend onnx:cuda --scenario single --warmup 5s --duration 30s || status=$?
    harness run minilm --backend onnx:cuda --scenario concurrency:4 --batch 8 --warmup 5s --duration 30s || status=$?
  fi
  return "$status"
}

# The .NET tool `harness` (src/Harness.Cli packs with PackAsTool): packed into .tools/packages and
# installed from there, globally (~/.dotnet/tools) or into --tool-path DIR. Where TorchSharp needs the
# Debian 12 compat, it is prepared in the user cache (HARNESS_TORCH_COMPAT_DIR, default
# ${XDG_CACHE_HOME:-~/.cache}/harness/torch-compat), where the installed harness finds it.
install_tool() {
  local where=(--global)
  case "${1:-}" in
    "") ;;
    --tool-path) [ $# = 2 ] && [ -n "$2" ] || { echo "run.sh: usage: ./run.sh install [--tool-path DIR]" >&2; return 2; }
      mkdir -p "$2"; where=(--tool-path "$(cd "$2" && pwd)") ;;
    *) echo "run.sh: usage: ./run.sh install [--tool-path DIR]" >&2; return 2 ;;
  esac
  local pkgs=.tools/packages version
  version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
  build
  rm -f "$pkgs"/Harness.Cli.*.nupkg
  dotnet pack src/Harness.Cli/Harness.Cli.csproj -c Release --no-build -nologo -v quiet -clp:ErrorsOnly -o "$pkgs"
  # The same version again (a rebuild) is an uninstall and an install.
  dotnet tool uninstall "${where[@]}" Harness.Cli >/dev/null 2>&1 || true
  dotnet tool install "${where[@]}" Harness.Cli --add-source "$pkgs" --version "$version" --ignore-failed-sources
  HARNESS_TORCH_COMPAT_DIR=${HARNESS_TORCH_COMPAT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/harness/torch-compat} \
    scripts/torch-compat.sh >/dev/null \
    || echo "run.sh: the TorchSharp compat could not be prepared (see above); torch:* will not load from the tool here." >&2
  if [ "${where[0]}" = --global ]; then
    case ":$PATH:" in *":$HOME/.dotnet/tools:"*) ;; *) echo "run.sh: add ~/.dotnet/tools to PATH: export PATH=\"\$PATH:\$HOME/.dotnet/tools\"" >&2 ;; esac
  fi
}

case "${1:-}" in
  "") default_suite ;;
  test) shift; run_tests "$@" ;;
  install) shift; install_tool "$@" ;;
  *)
    build
    # A torch:* run on a machine where `./run.sh` never ran: prepare the compat muxer first.
    case " $* " in *" torch:"* | *"=torch:"*) torch_dotnet >/dev/null || true ;; esac
    # exec: the harness takes this shell's PID, so a signal sent to ./run.sh (`kill` of a
    # `./run.sh serve ... &`, a CI timeout) reaches the harness, which drains and exits.
    harness_exec=exec harness "$@"
    ;;
esac
