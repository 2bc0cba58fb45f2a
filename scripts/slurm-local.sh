#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, on loopback only, for the fleet integration test and CI.
#
#   scripts/slurm-local.sh check         exit 0 when it can start here (root, Slurm and munge installed); else says why, exit 3
#   scripts/slurm-local.sh start DIR     start munged, slurmctld and slurmd with everything under DIR; prints the slurm.conf path
#   scripts/slurm-local.sh stop DIR      stop the daemons that 'start DIR' started (by their pid files), bounded
#   scripts/slurm-local.sh env DIR       print 'export SLURM_CONF=...' for a shell: eval "$(scripts/slurm-local.sh env DIR)"
#
# Needs root (SlurmUser=root) and the Debian packages slurmctld slurmd slurm-client munge. The munge
# key is the package's /etc/munge/munge.key; munged runs as the munge user on a socket inside DIR, so
# a system munged, if any, is left alone. State, spool, logs and pid files all live in DIR; nothing is
# written under /etc/slurm and no address other than 127.0.0.1 is used.
set -euo pipefail

die() { echo "slurm-local: $*" >&2; exit 3; }

check() {
  [ "$(id -u)" = 0 ] || { echo "slurm-local: needs root (SlurmUser=root); running as $(id -un)." >&2; return 3; }
  local missing=()
  for b in munged munge slurmctld slurmd sbatch squeue sinfo; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "slurm-local: not installed: ${missing[*]} (apt-get install -y slurmctld slurmd slurm-client munge)." >&2
    return 3
  fi
  [ -r /etc/munge/munge.key ] || { echo "slurm-local: /etc/munge/munge.key is missing (reinstall munge or run mungekey)." >&2; return 3; }
  id munge >/dev/null 2>&1 || { echo "slurm-local: the munge user does not exist (reinstall munge)." >&2; return 3; }
}

# A TCP port on 127.0.0.1 that nothing listens on, from a base upward.
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  local dir=$1
  check || exit 3
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ ! -f "$dir/slurmctld.pid" ] || ! pid_alive "$dir/slurmctld.pid" || die "a cluster already runs from $dir; stop it first."
  # munged checks that every folder above its socket is searchable by all and not writable by others.
  chmod 755 "$dir"
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
  chown munge:munge "$dir/munge"
  chmod 755 "$dir/munge"

  local host ctld_port slurmd_port node_line
  host=$(hostname -s)
  ctld_port=$(free_port "${SLURM_LOCAL_PORT:-16817}")
  slurmd_port=$(free_port $((ctld_port + 1)))
  # The node's real CPU layout, as slurmd itself sees it; RealMemory is left out (no memory tracking).
  node_line=$(slurmd -C | head -n 1 | sed -E 's/ RealMemory=[0-9]+//')
  cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster on loopback, state under $dir.
ClusterName=harness-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
KillWait=5
$node_line NodeAddr=127.0.0.1 NodeHostname=$host State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

  runuser -u munge -- munged --socket="$dir/munge/munge.socket" --log-file="$dir/munge/munged.log" \
    --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" \
    || die "munged did not start; see $dir/munge/munged.log."
  export SLURM_CONF=$dir/slurm.conf
  # -i: ignore state left by an earlier cluster in this folder; fresh start each time.
  slurmctld -i -f "$dir/slurm.conf" || { stop "$dir"; die "slurmctld did not start; see $dir/log/slurmctld.log."; }
  slurmd -f "$dir/slurm.conf" || { stop "$dir"; die "slurmd did not start; see $dir/log/slurmd.log."; }

  local i state
  for i in $(seq 1 60); do
    state=$(sinfo -h -n "$host" -o '%t' 2>/dev/null || true)
    case "$state" in
      idle*|mix*|alloc*) echo "$dir/slurm.conf"; return 0 ;;
    esac
    sleep 0.5
  done
  stop "$dir"
  die "the node did not come up within 30 s (last state '${state:-none}'); see $dir/log/."
}

# Stops one daemon by its pid file: TERM, then KILL after 10 s.
stop_daemon() {
  local pidfile=$1 pid i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  # slurmd first, so that no job step outlives its controller.
  stop_daemon "$dir/slurmd.pid"
  stop_daemon "$dir/slurmctld.pid"
  stop_daemon "$dir/munge/munged.pid"
}

case "${1:-}" in
  check) check ;;
  start) [ -n "${2:-}" ] || die "usage: $0 start DIR"; start "$2" ;;
  stop) [ -n "${2:-}" ] || die "usage: $0 stop DIR"; stop "$2" ;;
  env) [ -n "${2:-}" ] || die "usage: $0 env DIR"; echo "export SLURM_CONF=$(cd "$2" && pwd)/slurm.conf" ;;
  *) die "usage: $0 check | start DIR | stop DIR | env DIR" ;;
esac
