#!/usr/bin/env bash
# `make cluster-demo`: builds Fixtures/corpus in SHARDS shards (default 3) as a Slurm job array on a one-node
# Slurm started here for the purpose, checks that the result equals a one-process build, byte for byte,
# and asks it a question. Installs Debian's slurm-wlm and munge when missing (apt does not start their
# services); its own munged, slurmctld and slurmd run from a temporary directory with their own key,
# socket, ports and state, and are stopped on exit, whatever happens. Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
BIN=${BIN:-$repo/.build/release/lhindex}
SHARDS=${SHARDS:-3}
CORPUS=$repo/Fixtures/corpus
QUESTION=${QUESTION:-"What is a trigger in dpkg?"}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
[ -x "$BIN" ] || { echo "cluster-demo: $BIN is missing; run 'make build' first" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# 1. Packages. Debian starts a package's daemon on installation unless policy-rc.d says no: say no for the
# duration of the install (when the machine has no policy of its own), so nothing is left running.
missing=$(for p in slurm-wlm munge; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "installing:" $missing
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy"
  fi
  status=0
  { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } || status=$?
  [ -z "$policy" ] || $SUDO rm -f "$policy"
  [ "$status" = 0 ] || exit "$status"
fi
export PATH=$PATH:/usr/sbin

# 2. A temporary one-node cluster. Daemons run as root (slurmd must, to run jobs as their submitter).
T=$(mktemp -d /tmp/lhindex-cluster.XXXXXX)
chmod 755 "$T"
pids=()
stop() {
  local status=$?
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do $SUDO kill "${pids[i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do while $SUDO kill -0 "$p" 2>/dev/null; do sleep 0.2; done; done
  [ ${#pids[@]} = 0 ] || echo "stopped the daemons started here (pids ${pids[*]})"
  pids=()
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else $SUDO rm -rf "$T"; fi
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM
free_port() {  # a random port nothing listens on, so a Slurm already on this machine is left alone
  local p
  while p=$((20000 + RANDOM % 40000)); (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do :; done
  echo "$p"
}
mkdir -p "$T/munge" "$T/socket" "$T/state" "$T/spool" "$T/logs" "$T/out"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$T/munge" && chmod 400 "$T/munge/munge.key"
$SUDO chown -R root:root "$T/munge" "$T/socket" "$T/state" "$T/spool"   # the socket stays open to all users
cat > "$T/slurm.conf" <<CONF
ClusterName=lhindexdemo
SlurmctldHost=localhost
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$T/socket/munge.socket
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool/%n
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/logs/slurmctld.log
SlurmdLogFile=$T/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=demo Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf
start() {  # NAME COMMAND...: runs a daemon in the foreground of a background job and remembers its pid
  local name=$1; shift
  $SUDO "$@" >"$T/logs/$name.out" 2>&1 &
  pids+=($!)
}
t0=$(now)
start munged munged --foreground --force --socket="$T/socket/munge.socket" --key-file="$T/munge/munge.key" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/logs/munged.log" --seed-file="$T/munge/munged.seed"
for _ in $(seq 50); do [ -S "$T/socket/munge.socket" ] && break; sleep 0.1; done
start slurmctld slurmctld -D -f "$T/slurm.conf"
start slurmd slurmd -D -N localhost -f "$T/slurm.conf"
for i in $(seq 120); do
  state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  [ "$i" = 120 ] && { echo "the one-node Slurm did not come up (node: '$state'); logs:" >&2; tail -n 5 "$T"/logs/* >&2; exit 1; }
  sleep 0.5
done
echo "one-node Slurm $(sinfo -V | cut -d' ' -f2) up in $(since "$t0"): $(sinfo -h -o '%P %D node, %c CPUs, %T')"

# 3. The job array: SHARDS tasks writing into one output directory.
t1=$(now)
LHINDEX=$BIN timeout 1800 sbatch --wait --quiet --array=1-"$SHARDS" --output="$T/logs/shard-%a.out" --chdir="$repo" \
  scripts/cluster/slurm-build.sh "$CORPUS" "$T/out/sharded" || { tail -n 5 "$T"/logs/shard-*.out >&2; exit 1; }
sharded=$(since "$t1")
echo "job array of $SHARDS shards done in $sharded:"
for k in $(seq "$SHARDS"); do grep -E "^(task|shard) " "$T/logs/shard-$k.out" | sed 's/^/  /'; done

# 4. The same corpus in one process, compared byte for byte (the lock files aside).
t2=$(now)
"$BIN" build "$CORPUS" -o "$T/out/one" 2>"$T/logs/one.out" || { tail -n 5 "$T/logs/one.out" >&2; exit 1; }
echo "one-process build done in $(since "$t2"): $(grep '^done:' "$T/logs/one.out")"
if diff -r -q -x .lock -x .corpus.lock "$T/out/one" "$T/out/sharded"; then
  echo "same bundles: all $(find "$T/out/one" -type f ! -name '.*' | wc -l) files ($(find "$T/out/one" -name '*.lhx' | wc -l) bundles and corpus.json) byte-identical"
else
  echo "the sharded corpus differs from the one-process build" >&2; exit 1
fi

# 5. One question of the sharded corpus, answered as by the one built in one process.
a=$("$BIN" ask "$T/out/sharded" --cite -n 48 "$QUESTION" 2>/dev/null)
b=$("$BIN" ask "$T/out/one" --cite -n 48 "$QUESTION" 2>/dev/null)
echo "\$ lhindex ask SHARDED --cite -n 48 \"$QUESTION\""
echo "$a"
[ "$a" = "$b" ] && echo "same answer and citations from the one-process build" || { echo "the answers differ" >&2; exit 1; }
