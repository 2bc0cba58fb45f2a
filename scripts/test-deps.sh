#!/usr/bin/env bash
# test-deps.sh - what the test suite needs besides the .NET SDK: Debian packages for the real
# services the tests start (Chromium, Prometheus, a one-node Slurm), a C compiler for the fake CUDA
# runtime the ONNX tests build, patchelf for the TorchSharp compat (scripts/torch-compat.sh), node
# and npm for the serving tests' official openai npm package (scripts/serving-test-deps.sh installs
# the package itself), and root for the tests that mount a small tmpfs (a disk that fills).
#
# As root with apt-get: installs the missing packages (one apt-get update and install), then stops
# the services Debian starts on install (the tests run their own on free loopback ports). Otherwise
# it says on stderr which tests will be skipped and the one command that runs them. When nothing is
# missing it only asks dpkg (well under a second) and prints nothing. ./run.sh test calls it.
#
# Exit codes: 0 nothing is missing (or it was installed); 1 some tests will be skipped (listed);
# 2 the tests cannot even be built (no C compiler; listed).
set -euo pipefail

# package|what needs it (the tests that skip without it)
NEEDS=(
  "gcc|the build of tests/Harness.Onnx.Tests (it compiles a fake CUDA runtime, Cuda/fake-cudart.c)"
  "libc6-dev|the build of tests/Harness.Onnx.Tests (C headers of the fake CUDA runtime)"
  "libgomp1|Harness.LlamaCpp.Tests and llamacpp:cpu (LLamaSharp's llama.cpp build links OpenMP's libgomp.so.1)"
  "patchelf|Harness.Torch.Tests and torch:* runs on a libstdc++ without GLIBCXX_3.4.32 (scripts/torch-compat.sh)"
  "chromium|ChromiumRenderTests (the HTML report rendered headless)"
  "prometheus|PrometheusIntegrationTests (a real Prometheus scrapes a run; promtool checks the exposition)"
  "prometheus-pushgateway|PrometheusIntegrationTests (the final metrics pushed to a real Pushgateway)"
  "slurmctld|SlurmIntegrationTests (a one-node Slurm cluster, scripts/slurm-local.sh)"
  "slurmd|SlurmIntegrationTests (a one-node Slurm cluster, scripts/slurm-local.sh)"
  "slurm-client|SlurmIntegrationTests (sbatch, squeue, sacct)"
  "munge|SlurmIntegrationTests (Slurm's authentication)"
  "shellcheck|ShellScriptTests (the scripts a lent GPU session runs once, checked for errors beforehand)"
)
# command|Debian packages that provide it|what needs it: checked by the command, since node may come
# from elsewhere (NodeSource's nodejs has npm in it, and conflicts with Debian's npm package).
COMMANDS=(
  "npm|nodejs npm|SdkTests (the official openai npm package, run by node against harness serve; it fails rather than skips without them)"
)
# Started by Debian on install; the tests start their own.
SERVICES=(prometheus prometheus-pushgateway prometheus-node-exporter munge slurmctld slurmd)

log() { printf 'test-deps: %s\n' "$*" >&2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# patchelf matters only where the system libstdc++ is too old for TorchSharp (Debian 12).
if grep -aqF GLIBCXX_3.4.32 /usr/lib/x86_64-linux-gnu/libstdc++.so.6 2>/dev/null; then
  for i in "${!NEEDS[@]}"; do
    [ "${NEEDS[$i]%%|*}" = patchelf ] && unset 'NEEDS[i]'
  done
fi

find_missing() {
  missing=()
  local entry package rest
  for entry in "${NEEDS[@]}"; do
    package=${entry%%|*}
    if ! command -v dpkg-query >/dev/null 2>&1 || ! installed "$package"; then
      missing+=("$package")
    fi
  done
  for entry in "${COMMANDS[@]}"; do
    rest=${entry#*|}
    if ! command -v "${entry%%|*}" >/dev/null 2>&1; then
      # shellcheck disable=SC2206 # the packages are one word each
      missing+=(${rest%%|*})
    fi
  done
}

find_missing
root=false
[ "$(id -u)" = 0 ] && root=true

if [ ${#missing[@]} -gt 0 ] && $root && command -v apt-get >/dev/null 2>&1; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    if command -v systemctl >/dev/null 2>&1; then
      systemctl stop "${SERVICES[@]}" >/dev/null 2>&1 || true
    fi
  else
    log "apt-get failed"
  fi
  find_missing
fi

# What will not run, and why.
skips=()
for entry in "${NEEDS[@]}"; do
  package=${entry%%|*}
  for m in "${missing[@]}"; do
    [ "$m" = "$package" ] && skips+=("${entry#*|}: needs the Debian package $package")
  done
done
for entry in "${COMMANDS[@]}"; do
  rest=${entry#*|}
  if ! command -v "${entry%%|*}" >/dev/null 2>&1; then
    skips+=("${rest#*|}: needs ${entry%%|*} (Debian packages ${rest%%|*})")
  fi
done
if ! $root; then
  skips+=("ResultWriterTests and WriteFailureTests on a full disk: mounting a small tmpfs needs root")
fi

if [ ${#skips[@]} -eq 0 ]; then
  exit 0
fi

if ! $root; then
  why="this is not root"
elif ! command -v apt-get >/dev/null 2>&1; then
  why="there is no apt-get here (install the equivalents of: ${missing[*]})"
else
  why="the install did not complete"
fi
log "not everything the tests use is here, because $why. These will not run:"
printf '  - %s\n' "${skips[@]}" | sort -u >&2
if [ ${#missing[@]} -gt 0 ]; then
  log "to run them all: sudo ./run.sh test (as root it installs ${missing[*]}, then runs the suite)"
else
  log "to run them all: sudo ./run.sh test"
fi

for m in "${missing[@]}"; do
  case "$m" in gcc | libc6-dev) exit 2 ;; esac
done
exit 1
