#!/usr/bin/env bash
# startup.sh - wall time of `harness hw` from each way of running the harness, side by side: the installed
# .NET tool (with and without the compat re-exec), a self-contained build (scripts/publish.sh), the
# clone's own executable, and ./run.sh hw (incremental build first). REPS rounds, each running every
# form once in turn (the order rotates), so that a load that comes and goes touches every form alike.
# Prints a markdown table of medians and each form's ratio to ./run.sh, with the load average before
# and after.
#
# Usage: bench/startup.sh TOOL_HARNESS SELF_CONTAINED_HARNESS [REPS]   (REPS default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
tool=$1 sc=$2 reps=${3:-5}
clone=src/Harness.Cli/bin/Release/net10.0/harness
# The tool once more without the TorchSharp compat's re-exec (the variable the re-executed process
# gets), to show what the re-exec costs where the host needs the compat (Debian 12).
names=("installed tool" "installed tool, no compat re-exec" "self-contained" "clone executable" "./run.sh hw")
cmds=("$tool hw" "env HARNESS_TORCH_COMPAT_ACTIVE=skip $tool hw" "$sc hw" "$clone hw" "./run.sh hw")
./run.sh hw >/dev/null   # the build is up to date before the first round

declare -A times
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < reps; r++)); do
  for ((k = 0; k < ${#cmds[@]}; k++)); do
    i=$(( (k + r) % ${#cmds[@]} ))
    t0=$(date +%s%N)
    ${cmds[$i]} >/dev/null
    t1=$(date +%s%N)
    times[$i]+="$(( (t1 - t0) / 1000000 )) "
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ref=$(echo "${times[4]}" | median)
echo "| form | median ms | ratio to ./run.sh hw | every run, ms |"
echo "| --- | ---: | ---: | --- |"
for ((i = 0; i < ${#cmds[@]}; i++)); do
  m=$(echo "${times[$i]}" | median)
  printf '| %s | %s | %s | %s |\n' "${names[$i]}" "$m" "$(awk -v a="$m" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')" "${times[$i]% }"
done
echo
echo "$reps rounds on $(nproc) cores; load average (1, 5, 15 min) before: $load_before, after: $load_after."
