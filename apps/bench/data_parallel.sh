#!/usr/bin/env bash
# Data-parallel benchmark on this machine: 1 rank x 2 threads versus 2 ranks x 1 thread with the
# ordered and the MPI gradient reduction (--reduction), training keras-cnn and lenet5 on the real
# Fashion-MNIST HDF5 file, side by side in one run.
# Prints images/s (median of the step reports after the first) and the share of step time
# spent waiting for the gradient all-reduce. MODELS="resnet20" measures other models (batch
# norm's statistics are then summed over the ranks every layer).
#   apps/bench/data_parallel.sh [convoy binary] [train.h5]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
convoy=${1:-$root/build/release/apps/convoy}
data=${2:-$root/data/fashion-mnist-train.h5}
steps=${STEPS:-400}
read -r -a models <<<"${MODELS:-keras-cnn lenet5}"
if [ ! -f "$data" ]; then
  echo "data_parallel.sh: no training file $data; run cluster/train-fashion-mnist.sh once (it converts" \
       "Fashion-MNIST to data/) or pass the HDF5 file as the second argument" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

summarise() {  # metrics file -> "images/s wait-share"
  /usr/bin/python3 - "$1" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"type":"step"' in l][1:]
print(f'{statistics.median(r["images_per_second"] for r in rows):.0f} '
      f'{100 * statistics.median(r["allreduce_wait_share"] for r in rows):.2f}%')
PY
}

printf '%-10s %-26s %12s %14s\n' model layout images/s allreduce-wait
for model in "${models[@]}"; do
  for layout in "1x2/ordered" "2x1/ordered" "2x1/mpi"; do
    reduction=${layout#*/}
    layout=${layout%/*}
    ranks=${layout%x*}
    threads=${layout#*x}
    metrics=$work/$model-$layout-$reduction.jsonl
    launcher=()
    [ "$ranks" -gt 1 ] && launcher=(mpirun -np "$ranks" --oversubscribe --allow-run-as-root --bind-to core)
    "${launcher[@]}" "$convoy" train --model "$model" --data "$data" --batch 64 --optimizer sgd --lr 0.01 \
      --threads "$threads" --reduction "$reduction" --epochs 1 --stop-after "$steps" --log-every 50 --progress lines \
      --metrics "$metrics" > "$work/log" 2>&1 || status=$?
    if [ "${status:-0}" -ne 0 ] && [ "${status:-0}" -ne 4 ]; then  # 4: stopped by --stop-after, nothing saved
      echo "data_parallel.sh: $model $layout/$reduction failed (exit $status):" >&2
      cat "$work/log" >&2
      exit 1
    fi
    status=0
    label="${ranks} rank x ${threads} thr"
    [ "$ranks" -gt 1 ] && label="$label, $reduction"
    printf '%-10s %-26s %12s %14s\n' "$model" "$label" $(summarise "$metrics")
  done
done
