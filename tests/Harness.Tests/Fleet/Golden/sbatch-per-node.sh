#!/bin/bash
#SBATCH --job-name=harness-fleet
#SBATCH --array=0-3
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --exclusive
#SBATCH --partition=gpu
#SBATCH --time=30:00
#SBATCH --output=/shared/fleet/run1/logs/task-%a.out
#SBATCH --error=/shared/fleet/run1/logs/task-%a.err
# Written by 'harness slurm submit': 4 tasks, one per node; each writes results/task-N.json and status/task-N.json under
# /shared/fleet/run1. Follow with 'harness slurm status /shared/fleet/run1', then 'harness slurm collect /shared/fleet/run1'.
set -u
set -- '/opt/dotnet/dotnet' '/opt/harness/harness.dll' 'run' 'minilm' '--duration' '60s' '--set' 'label=it'\''s $(whoami)'
# One fleet task: run the harness, keep its result under the task's number, record how it ended.
task=${SLURM_ARRAY_TASK_ID:-}
case $task in
  ''|*[!0-9]*) echo "harness fleet task: SLURM_ARRAY_TASK_ID does not hold a task number; this script runs as one task of an array or indexed job." >&2; exit 2 ;;
esac
root='/shared/fleet/run1'
mkdir -p "$root/results" "$root/status" "$root/logs"
# Only characters that need no escaping in JSON reach the status file.
clean() { printf '%s' "$1" | tr -cd 'A-Za-z0-9._,:@+=/-'; }
# SIGTERM (time limit, scancel) reaches the harness too, which writes its partial result; the trap keeps
# this script alive until the harness has ended, so that the exit record is still written.
trap 'terminated=1' TERM INT
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
result="$root/results/task-$task.json"
"$@" --out "$result"
rc=$?
ended=$(date -u +%Y-%m-%dT%H:%M:%SZ)
host=$(clean "$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null)")
node=$(clean "${SLURMD_NODENAME:-}")
[ -n "$node" ] || node=$host
gpus=$(clean "${SLURM_JOB_GPUS:-${CUDA_VISIBLE_DEVICES:-${NVIDIA_VISIBLE_DEVICES:-}}}")
job=$(clean "${SLURM_ARRAY_JOB_ID:-}")
tasks=$(printf '%s' "${SLURM_ARRAY_TASK_COUNT:-}" | tr -cd '0-9')
[ -n "$tasks" ] || tasks=0
status="$root/status/task-$task.json"
printf '{"schema_version": 1, "task": %s, "tasks": %s, "exit_code": %s, "node": "%s", "hostname": "%s", "gpus": "%s", "job_id": "%s", "started_utc": "%s", "ended_utc": "%s"}\n' \
  "$task" "$tasks" "$rc" "$node" "$host" "$gpus" "$job" "$started" "$ended" >"$status.tmp.$$" && mv -f "$status.tmp.$$" "$status"
exit $rc
