#!/usr/bin/env bash
# shellcheck disable=SC2012,SC2002  # ls of our own part names (digits only); cat of many parts into one stream
# device-stage.sh - carries the packed harness (.device and the ONNX Runtime CUDA provider parts that
# ../shared/device/pack.sh writes) to the lent GPU machine in as few calls as the 64 MiB limit allows.
#
# Each device call carries the checkout's tracked and untracked-but-not-ignored files (about 16 MiB here)
# plus what it names, 64 MiB in all, so pack.sh's .device (about 51 MiB with the ASP.NET runtime) and its
# 60 MiB provider parts do not fit beside the tree. This joins them into one stream (a tar of what
# on-device.sh stages in /tmp/hd, the provider as a single ort/ort-part-0 that on-device.sh checks against
# .device/ort-cuda.sha256) and cuts it into parts that do fit, with the stream's sha256.
#
#   bash scripts/device-stage.sh split     on the dev machine, from the checkout the session calls from,
#                                          after pack.sh: writes .device-stage-NN/ (ignored) and prints the calls
#   bash scripts/device-stage.sh join      on the device (scripts/device-decoders.sh runs it): when all parts
#                                          are in $STAGE (default /tmp/hd-stage), checks and unpacks them into
#                                          $HD (default /tmp/hd); exit 0 when staged, 4 when only the first
#                                          parts came (the harness without the CUDA provider), 3 when it cannot
# Environment for split: MARGIN_MIB (default 4) kept free under the 64 MiB in each call.
set -euo pipefail
tmp=""
HD=${HD:-/tmp/hd}
STAGE=${STAGE:-/tmp/hd-stage}

split_parts() {
  local root tree_b limit_b margin_b part_b n i sha
  root=$(git rev-parse --show-toplevel)
  cd "$root"
  [ -s .device/app.tar.xz ] || { echo "device-stage: no .device here; run ../shared/device/pack.sh first" >&2; exit 2; }
  # What travels with every call: tracked files and untracked files that git does not ignore.
  tree_b=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 -r du -cb 2>/dev/null \
    | awk '$2 == "total" {s += $1} END {print s + 0}')
  limit_b=$(( 64 * 1048576 ))
  margin_b=$(( ${MARGIN_MIB:-4} * 1048576 ))
  part_b=$(( (limit_b - tree_b - margin_b) / 1048576 * 1048576 ))
  [ "$part_b" -ge $(( 8 * 1048576 )) ] || { echo "device-stage: the tree ($(( tree_b / 1048576 )) MiB) leaves no room for parts" >&2; exit 2; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/hd/ort"
  cp .device/* "$tmp/hd/"
  if ls -d .device-ort-[0-9]* >/dev/null 2>&1; then
    # pack.sh's parts, in order, as one file: on-device.sh joins ort/ort-part-* and checks the sha256.
    # shellcheck disable=SC2046  # the parts, in order
    cat $(ls -d .device-ort-[0-9]* | sort -t- -k3 -n | sed 's|$|/ort-part-*|') > "$tmp/hd/ort/ort-part-0"
    [ "$(sha256sum "$tmp/hd/ort/ort-part-0" | cut -d' ' -f1)" = "$(cat .device/ort-cuda.sha256)" ] \
      || { echo "device-stage: the .device-ort-* parts do not match .device/ort-cuda.sha256; rerun pack.sh" >&2; exit 2; }
  else
    echo "device-stage: no .device-ort-* parts: the ONNX Runtime CUDA provider will be missing there" >&2
  fi
  # The harness first, the provider last: a stream whose last parts never arrived still stages the harness.
  local members=() f
  for f in "$tmp"/hd/*; do [ "${f##*/}" = ort ] || members+=("${f##*/}"); done
  tar -C "$tmp/hd" -cf "$tmp/stage.tar" "${members[@]}" ort
  rm -rf .device-stage-*
  split -b "$part_b" -d -a 2 "$tmp/stage.tar" "$tmp/stage-part-"
  n=$(ls "$tmp"/stage-part-* | wc -l)
  i=0
  for p in $(ls "$tmp"/stage-part-* | sort); do
    mkdir -p ".device-stage-$(printf %02d "$i")"
    mv "$p" ".device-stage-$(printf %02d "$i")/"
    i=$((i + 1))
  done
  # Each part folder says how many parts and which stream they make, so join needs nothing else.
  sha=$(sha256sum "$tmp/stage.tar" | cut -d' ' -f1)
  for d in .device-stage-*; do echo "$n $sha" > "$d/stage.info"; done
  du -sh .device-stage-* >&2
  echo "tree $(( tree_b / 1048576 )) MiB + parts of at most $(( part_b / 1048576 )) MiB: $n calls" >&2
  echo
  echo "Calls to make, back to back (the machine is given back after 30 s idle), from this checkout:"
  i=0
  for d in .device-stage-*; do
    i=$((i + 1))
    if [ "$i" -lt "$n" ]; then
      echo "  $i. carry [\"$d\"]   command: mkdir -p $STAGE && cp $d/* $STAGE/ && ls -la $STAGE"
    else
      echo "  $i. carry [\"$d\"]   command: mkdir -p $STAGE && cp $d/* $STAGE/ && TARBALL=\$OUT/r.tgz OUT=/tmp/o bash scripts/device-decoders.sh"
    fi
  done
}

join_parts() {
  [ -x "$HD/on-device.sh" ] && [ -s "$HD/app.tar.xz" ] && { echo "device-stage: $HD already staged" >&2; return 0; }
  ls "$STAGE"/stage-part-* >/dev/null 2>&1 || { echo "device-stage: no parts in $STAGE" >&2; return 3; }
  local n sha have
  read -r n sha < "$STAGE/stage.info"
  have=$(ls "$STAGE"/stage-part-* | wc -l)
  mkdir -p "$HD"
  if [ "$have" -ne "$n" ]; then
    echo "device-stage: $have of $n parts in $STAGE: $(cd "$STAGE" && echo stage-part-*)" >&2
    # The first parts alone (00, 01, ... in a row) still hold the harness; the provider stays incomplete, which
    # on-device.sh finds by its sha256 (the CUDA provider is then unavailable, TorchSharp still runs).
    [ "$(ls "$STAGE"/stage-part-* | sort | tail -1)" = "$STAGE/stage-part-$(printf %02d $((have - 1)))" ] || return 3
    # shellcheck disable=SC2046  # the parts, in order
    cat $(ls "$STAGE"/stage-part-* | sort) | tar -C "$HD" -xf - 2>/dev/null || true
    if ! xz -t "$HD/app.tar.xz" "$HD/dotnet.tar.xz" 2>/dev/null; then
      echo "device-stage: the first $have parts do not hold the whole harness" >&2
      rm -f "$HD/app.tar.xz" "$HD/dotnet.tar.xz" "$HD/on-device.sh"
      return 3
    fi
    echo "device-stage: the first $have parts unpacked into $HD: the harness without the ONNX Runtime CUDA provider" >&2
    return 4
  fi
  # shellcheck disable=SC2046  # the parts, in order
  if [ "$(cat $(ls "$STAGE"/stage-part-* | sort) | sha256sum | cut -d' ' -f1)" != "$sha" ]; then
    echo "device-stage: the $n parts in $STAGE do not make the staged stream (sha256 differs)" >&2
    return 3
  fi
  # shellcheck disable=SC2046
  cat $(ls "$STAGE"/stage-part-* | sort) | tar -C "$HD" -xf -
  echo "device-stage: $n parts unpacked into $HD" >&2
}

case "${1:-}" in
  split) split_parts ;;
  join) join_parts ;;
  *) echo "usage: device-stage.sh split | join" >&2; exit 2 ;;
esac
