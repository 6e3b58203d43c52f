#!/bin/bash
# Does Convoy run under Slurm's own launcher (srun --mpi=pmix) as it does under mpirun?
#
#   cluster/slurm/srun-check.sh [CONVOY]     (root; default CONVOY: build/release/apps/convoy)
#
# Makes a private one-node Slurm on this machine (its own munged socket, slurm.conf, state and
# ports under a temporary folder: nothing in /etc is changed), trains lenet5 on the first 2000
# Fashion-MNIST images for 20 steps on 1 rank, on 2 ranks under mpirun, on 2 ranks under srun and
# under mpirun inside a salloc allocation, and requires the same parameter and optimizer bits
# from all four. Then it preempts a 2-rank srun job twice (SIGUSR1 to srun, then scancel -s USR1),
# resumes it with --resume auto each time, and requires the bits of a 1-rank run never stopped.
# Stops every daemon it started on exit, on an error, on Ctrl-C and on SIGTERM. KEEP=1 keeps the temporary folder.
set -euo pipefail

CONVOY=$(realpath "${1:-build/release/apps/convoy}")
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
EPOCHS=${EPOCHS:-8}  # the preempted run: 8 x 32 steps, a few seconds on 2 busy cores
HOST=$(hostname -s)
[[ $(id -u) == 0 ]] || { echo "srun-check: run as root (daemons, munge user)" >&2; exit 1; }

# Debian 12 ships Slurm 22.05 with the PMIx plugin (mpi_pmix_v4, built against libpmix2).
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v srun >/dev/null || ! command -v munged >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    slurm-wlm slurmctld slurmd munge
fi
[[ -r /etc/munge/munge.key ]] || runuser -u munge -- /usr/sbin/mungekey --verbose

WORK=$(mktemp -d /tmp/srun-check.XXXXXX)
chmod 755 "$WORK"  # munged runs as user munge and must reach its socket folder
mkdir -p "$WORK"/{munge,state,spool,ck}
chown munge:munge "$WORK/munge"
pids=()
cleanup() {
  set +e
  # Jobs first, so that no slurmstepd outlives slurmd; this controller only knows our jobs.
  [[ ${#pids[@]} -gt 0 ]] && scancel --quiet --user root 2>/dev/null && sleep 1
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  [[ -f $WORK/munge/munged.pid ]] && kill "$(cat "$WORK/munge/munged.pid")"
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT  # a signal ends the script through the EXIT trap too
trap 'exit 143' TERM

SOCK=$WORK/munge/munge.socket.2
runuser -u munge -- /usr/sbin/munged --socket="$SOCK" --pid-file="$WORK/munge/munged.pid" \
  --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/seed"

# proctrack/linuxproc and task/none: no cgroups needed (containers often have none to give).
export SLURM_CONF=$WORK/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=srun-check
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
MailProg=/bin/true
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=check Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D >"$WORK/slurmctld.out" 2>&1 & pids+=($!)
for _ in $(seq 30); do scontrol ping >/dev/null 2>&1 && break; sleep 1; done
slurmd -D >"$WORK/slurmd.out" 2>&1 & pids+=($!)
for _ in $(seq 30); do [[ $(sinfo -h -n "$HOST" -o %T) == idle ]] && break; sleep 1; done
sinfo
srun --mpi=list

# The data: the first 2000 training images, as IDX files, converted by convoy.
python3 - "$FMNIST" "$WORK" <<'EOF'
import gzip, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], 2000
for kind, head, item in (("images-idx3", ">IIII", 28 * 28), ("labels-idx1", ">II", 1)):
    with gzip.open(f"{src}/train-{kind}-ubyte.gz") as f:
        h = list(struct.unpack(head, f.read(struct.calcsize(head))))
        h[1] = n
        with open(f"{dst}/{kind}", "wb") as g:
            g.write(struct.pack(head, *h) + f.read(n * item))
EOF
DATA=$WORK/fm2000.h5
"$CONVOY" convert idx --images "$WORK/images-idx3" --labels "$WORK/labels-idx1" -o "$DATA" \
  --class-names fashion-mnist

# run NAME EXPECTED_CODE CMD...: runs, prints exit code and wall time, fails on another code.
run() {
  local name=$1 want=$2 code=0 t0
  shift 2
  t0=$(date +%s%N)
  "$@" >"$WORK/$name.out" 2>&1 || code=$?
  printf '%-14s exit %d in %5.2f s\n' "$name" "$code" "$(( $(date +%s%N) - t0 ))e-9"
  [[ $code == "$want" ]] || { tail -20 "$WORK/$name.out"; echo "$name: expected exit $want" >&2; exit 1; }
}
# The training state: step, parameters, buffers and optimizer moments (not the world size).
state() {
  "$CONVOY" inspect "$1" | grep -E '^(step|parameters xxh64|buffers xxh64|optimizer buffers xxh64):'
}
TRAIN=(train --model lenet5 --data "$DATA" --batch 64 --threads 1 --seed 7 --progress lines)
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 2)
SHORT=(--epochs 1 --stop-after 20)  # --stop-after: checkpoint and exit 3

run one 3 "$CONVOY" "${TRAIN[@]}" "${SHORT[@]}" --checkpoint-dir "$WORK/ck/one"
run mpirun 3 "${MPIRUN[@]}" "$CONVOY" "${TRAIN[@]}" "${SHORT[@]}" --checkpoint-dir "$WORK/ck/mpirun"
run srun 3 srun --mpi=pmix -n 2 "$CONVOY" "${TRAIN[@]}" "${SHORT[@]}" --checkpoint-dir "$WORK/ck/srun"
run salloc-mpirun 3 salloc -n 2 "${MPIRUN[@]}" "$CONVOY" "${TRAIN[@]}" "${SHORT[@]}" \
  --checkpoint-dir "$WORK/ck/salloc"
state "$WORK/ck/one/step-20.ckpt" | tee "$WORK/one.state"
for r in mpirun srun salloc; do
  state "$WORK/ck/$r/step-20.ckpt" | diff - "$WORK/one.state" && echo "$r: same bits as 1 rank"
done
# The start-up report under srun must see 2 ranks on this host, not 2 single-rank jobs.
grep -E "^1 host: $HOST \(ranks 0-1\)$" "$WORK/srun.out"
grep -E "^rank 0/2 on $HOST:" "$WORK/srun.out"

# Preemption under srun. srun passes SIGUSR1 on to every task; scancel -s USR1 JOB signals
# every step of the job. Either way convoy should checkpoint and exit 3, and resume.
LONG=(--epochs "$EPOCHS" --log-every 10 --checkpoint-dir "$WORK/ck/pre" --resume auto)
preempt() {  # preempt NAME HOW: start a 2-rank srun job and signal it
  local name=$1 how=$2 code=0 t0
  t0=$(date +%s%N)
  srun --mpi=pmix -n 2 -J "$name" "$CONVOY" "${TRAIN[@]}" "${LONG[@]}" >"$WORK/$name.out" 2>&1 &
  local pid=$!
  # Signal at the first progress report (every 10 steps), in the middle of the run.
  for _ in $(seq 600); do grep -qE '^epoch .* step' "$WORK/$name.out" && break; sleep 0.1; done
  case $how in
    kill) kill -USR1 "$pid" ;;
    scancel) scancel -s USR1 "$(squeue -h -n "$name" -o %A)" ;;
  esac
  wait "$pid" || code=$?
  printf '%-14s exit %d in %5.2f s: %s\n' "$name" "$code" "$(( $(date +%s%N) - t0 ))e-9" \
    "$(grep -E '^stopped' "$WORK/$name.out" || echo 'not stopped')"
  [[ $code == 3 ]] || { tail -20 "$WORK/$name.out"; exit 1; }
}
preempt usr1-srun kill
preempt usr1-scancel scancel
run resumed 0 srun --mpi=pmix -n 2 "$CONVOY" "${TRAIN[@]}" "${LONG[@]}"
grep -E '^resume:' "$WORK/resumed.out"
run unstopped 0 "$CONVOY" "${TRAIN[@]}" --epochs "$EPOCHS" --checkpoint-dir "$WORK/ck/unstopped"
last=$(find "$WORK/ck/pre" -name 'step-*.ckpt' | sort -V | tail -1)
state "$WORK/ck/unstopped/$(basename "$last")" | tee "$WORK/unstopped.state"
state "$last" | diff - "$WORK/unstopped.state" && echo "preempted twice, resumed: same bits as 1 rank unstopped"
echo "srun-check: all passed"
