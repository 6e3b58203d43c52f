#!/usr/bin/env bash
# Step time of keras-cnn (MODEL=resnet20 for another model), 2 ranks x 1 thread, on 2 simulated
# hosts (cluster.sh) with shaped links, for the ordered and the MPI gradient reduction; 2 ranks on
# this machine (shared memory) as the baseline. Needs root.
#   cluster/local/bench-links.sh [convoy binary] [train.h5] [link ...]
# A link is RATE or RATE/DELAY (e.g. 10gbit/50us: DELAY is the one-way latency host to host,
# through convoy-link-switch, found beside the convoy binary), or `none` for unshaped; default:
# none 10gbit/50us 1gbit/200us.
# Prints, over the progress reports after the first (STEPS=400 steps of batch 64, reports every
# LOG_EVERY=50): the median step time, the best report's (the least disturbed on a shared machine), the
# median images/s, the median share of step time spent waiting for the gradient reduction and
# that wait in ms, and the ms a step spends in batch norm's sums over ranks (stats-ms, the
# ranks' mean: in forward and backward, so never hidden, and across hosts queued behind the
# gradient buckets on the wire). On the simulated hosts each row runs a second time with the whole gradient in
# one bucket, which starts only when backward ends, so nothing overlaps: its wait (one-bucket-ms)
# is the reduction's whole time, and overlap = 1 - wait-ms / one-bucket-ms is the share of the
# reduction hidden behind backward.
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

summarise() {  # metrics file [one-bucket metrics file] -> "step-ms best-ms images/s wait-share wait-ms stats-ms [one-bucket-ms overlap]"
  /usr/bin/python3 - "$@" <<'PY'
import json, statistics, sys
def rows(path):
    return [json.loads(l) for l in open(path) if '"type":"step"' in l][1:]
def wait_ms(rows):
    return statistics.median(1000 * 64 / r["images_per_second"] * r["allreduce_wait_share"] for r in rows)
def stats_ms(rows):
    def share(rank):
        return rank["statistics_wait"] / sum(rank[k] for k in ("compute", "data_wait", "gradient_wait", "statistics_wait"))
    return statistics.median(1000 * 64 / r["images_per_second"] * statistics.mean(share(k) for k in r["ranks"])
                             for r in rows)
main = rows(sys.argv[1])
ips = statistics.median(r["images_per_second"] for r in main)
best = max(r["images_per_second"] for r in main)
line = (f'{1000 * 64 / ips:.2f} {1000 * 64 / best:.2f} {ips:.0f} '
        f'{100 * statistics.median(r["allreduce_wait_share"] for r in main):.1f}% {wait_ms(main):.2f} {stats_ms(main):.2f}')
if len(sys.argv) > 2:
    whole = wait_ms(rows(sys.argv[2]))
    line += f' {whole:.2f} {100 * max(0.0, 1 - wait_ms(main) / whole):.0f}%' if whole > 0 else ' 0 -'
print(line)
PY
}

train() {  # reduction bucket-kib metrics launcher...
  local reduction=$1 bucket=$2 metrics=$3 status=0
  shift 3
  rm -f "$metrics"  # convoy train appends to a metrics file: each row its own run
  "$@" -x OMP_NUM_THREADS=1 "$convoy" train --model "$model" --data "$data" --batch 64 --optimizer sgd --lr 0.01 \
    --threads 1 --reduction "$reduction" --bucket-kib "$bucket" --epochs 1 --stop-after "$steps" --log-every "${LOG_EVERY:-50}" --progress lines \
    --metrics "$metrics" >"$work/log" 2>&1 || status=$?
  if [ "$status" -ne 4 ]; then  # 4: stopped by --stop-after, nothing saved (no --checkpoint-dir)
    echo "bench-links.sh: $reduction run failed (exit $status):" >&2
    cat "$work/log" >&2
    exit 1
  fi
}

row() { printf '%-28s %-9s %8s %8s %9s %12s %8s %9s %14s %8s\n' "$@"; }
row link reduction step-ms best-ms images/s reduce-wait wait-ms stats-ms one-bucket-ms overlap
buckets=${BUCKET_KIB:-256}
whole=65536  # KiB: more than any zoo model's gradient at these sizes
for reduction in ordered mpi; do
  train "$reduction" "$buckets" "$work/local.jsonl" mpirun -np 2 --oversubscribe --allow-run-as-root --bind-to none
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
    train "$reduction" "$buckets" "$work/$reduction.jsonl" "$here/cluster.sh" mpirun --name "$name" -np 2
    train "$reduction" "$whole" "$work/$reduction-whole.jsonl" "$here/cluster.sh" mpirun --name "$name" -np 2
    row "$label" "$reduction" $(summarise "$work/$reduction.jsonl" "$work/$reduction-whole.jsonl")
  done
  "$here/cluster.sh" down --name "$name"
done
