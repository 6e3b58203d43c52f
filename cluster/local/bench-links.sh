#!/usr/bin/env bash
# Step time of keras-cnn (MODEL=resnet20 for another model), 2 ranks x 1 thread, on 2 simulated
# hosts (cluster.sh) with shaped links, for the ordered and the MPI gradient reduction; 2 ranks on
# this machine (shared memory) as the baseline. Needs root.
#   cluster/local/bench-links.sh [convoy binary] [train.h5] [link ...]
# A link is RATE or RATE/DELAY (e.g. 10gbit/50us: DELAY is the one-way latency host to host,
# through convoy-link-switch, found beside the convoy binary), or `none` for unshaped; default:
# none 10gbit/50us 1gbit/200us.
# Prints, over the progress reports after the first (STEPS=400 steps of batch 64, reports every
# 50): the median step time, the best report's (the least disturbed on a shared machine), the
# median images/s, and the median share of step time spent waiting for the gradient reduction.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
convoy=${1:-$root/build/release/apps/convoy}
data=${2:-$root/data/fashion-mnist-train.h5}
shift $(($# < 2 ? $# : 2))
links=("$@")
[ ${#links[@]} -gt 0 ] || links=(none 10gbit/50us 1gbit/200us)
steps=${STEPS:-400}
model=${MODEL:-keras-cnn}
name=bench$$
[ -f "$data" ] || { echo "bench-links.sh: no training file $data (cluster/train-fashion-mnist.sh makes one)" >&2; exit 1; }
work=$(mktemp -d)
trap '"$here/cluster.sh" down --name "$name"; rm -rf "$work"' EXIT

export CONVOY_LINK_SWITCH=${CONVOY_LINK_SWITCH:-$(dirname "$convoy")/../cluster/local/convoy-link-switch}

summarise() {  # metrics file -> "step-ms best-ms images/s wait-share"
  /usr/bin/python3 - "$1" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"type":"step"' in l][1:]
ips = statistics.median(r["images_per_second"] for r in rows)
best = max(r["images_per_second"] for r in rows)
print(f'{1000 * 64 / ips:.2f} {1000 * 64 / best:.2f} {ips:.0f} '
      f'{100 * statistics.median(r["allreduce_wait_share"] for r in rows):.1f}%')
PY
}

train() {  # reduction metrics launcher...
  local reduction=$1 metrics=$2 status=0
  shift 2
  rm -f "$metrics"  # convoy train appends to a metrics file: each row its own run
  "$@" -x OMP_NUM_THREADS=1 "$convoy" train --model "$model" --data "$data" --batch 64 --optimizer sgd --lr 0.01 \
    --threads 1 --reduction "$reduction" --epochs 1 --stop-after "$steps" --log-every 50 --progress lines \
    --metrics "$metrics" >"$work/log" 2>&1 || status=$?
  if [ "$status" -ne 4 ]; then  # 4: stopped by --stop-after, nothing saved (no --checkpoint-dir)
    echo "bench-links.sh: $reduction run failed (exit $status):" >&2
    cat "$work/log" >&2
    exit 1
  fi
}

row() { printf '%-36s %-9s %8s %8s %9s %12s\n' "$@"; }
row link reduction step-ms best-ms images/s reduce-wait
for reduction in ordered mpi; do
  train "$reduction" "$work/local.jsonl" mpirun -np 2 --oversubscribe --allow-run-as-root --bind-to none
  row "one machine (shared memory)" "$reduction" $(summarise "$work/local.jsonl")
done
for link in "${links[@]}"; do
  shaping=() label=$link
  if [ "$link" != none ]; then
    shaping=(--rate "${link%%/*}")
    [[ $link == */* ]] && shaping+=(--delay "${link#*/}")
  else
    label="2 hosts, unshaped veth"
  fi
  "$here/cluster.sh" up --name "$name" --hosts 2 --subnet auto "${shaping[@]}" >/dev/null
  for reduction in ordered mpi; do
    train "$reduction" "$work/$reduction.jsonl" "$here/cluster.sh" mpirun --name "$name" -np 2
    row "$label" "$reduction" $(summarise "$work/$reduction.jsonl")
  done
  "$here/cluster.sh" down --name "$name"
done
