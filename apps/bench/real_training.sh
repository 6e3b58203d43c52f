#!/usr/bin/env bash
# Real training against the in-memory benchmark: `convoy train` on the Fashion-MNIST HDF5 file
# (loader, sampler, optimizer and metrics included) and `convoy bench` on random data in memory,
# the same model, batch 64, SGD momentum, the two alternated ROUNDS times. Prints each side's
# median images/s and the median of each round's ratio (real / in memory), with its range: the
# data pipeline's cost.
#
#   apps/bench/real_training.sh [convoy binary]
#   MODELS="lenet5 keras-cnn resnet20 resnet18:64" THREADS="1 2" ROUNDS=3 STEPS=200
#
# A model may carry its input size (resnet18:64; default 28, Fashion-MNIST's own): the resized
# files are made once under $OUT (default runs/bench) by `convoy convert idx --size`. Training
# images/s is the median of its step reports after the first (every STEPS / 4 steps);
# bench's is the median of 3 repeats of STEPS / 2 steps.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
convoy=${1:-$root/build/release/apps/convoy}
src=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
out=${OUT:-$root/runs/bench}
read -r -a models <<<"${MODELS:-lenet5 keras-cnn}"
read -r -a thread_counts <<<"${THREADS:-1 2}"
rounds=${ROUNDS:-3}
steps=${STEPS:-200}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

train_file() {  # size -> the training set at that size
  local file="$out/fashion-mnist-train-$1.h5"
  [ -f "$file" ] || "$convoy" convert idx --images "$src/train-images-idx3-ubyte.gz" \
    --labels "$src/train-labels-idx1-ubyte.gz" --class-names fashion-mnist --size "$1x$1" -o "$file" >&2
  echo "$file"
}

real() {  # model size threads -> images/s of convoy train on the file
  local metrics=$work/metrics.jsonl status=0
  rm -f "$metrics"
  "$convoy" train --model "$1" --data "$(train_file "$2")" --batch 64 --optimizer sgd --lr 0.01 --momentum 0.9 \
    --threads "$3" --epochs 1 --stop-after "$steps" --log-every $((steps / 4)) --progress lines \
    --metrics "$metrics" > "$work/log" 2>&1 || status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 4 ]; then  # 4: stopped by --stop-after, nothing saved
    echo "real_training.sh: convoy train --model $1 failed (exit $status):" >&2
    cat "$work/log" >&2
    exit 1
  fi
  python3 - "$metrics" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"type":"step"' in l.replace(" ", "")][1:]
print(f'{statistics.median(r["images_per_second"] for r in rows):.0f}')
PY
}

in_memory() {  # model size threads -> training images/s of convoy bench
  "$convoy" bench --model "$1" --input "1x$2x$2" --classes 10 --batch 64 --threads "$3" --steps $((steps / 2)) \
    --repeats 3 | grep -o 'train [0-9]* images/s' | cut -d' ' -f2
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "| model | input | threads | convoy train on the file | convoy bench in memory | ratio (range) | rounds |"
echo "|---|---|---|---|---|---|---|"
for spec in "${models[@]}"; do
  model=${spec%:*}
  size=28
  [[ $spec == *:* ]] && size=${spec#*:}
  for threads in "${thread_counts[@]}"; do
    reals=() benches=() ratios=()
    for ((round = 0; round < rounds; ++round)); do
      r=$(real "$model" "$size" "$threads")
      b=$(in_memory "$model" "$size" "$threads")
      reals+=("$r") benches+=("$b") ratios+=("$(awk -v r="$r" -v b="$b" 'BEGIN {printf "%.3f", r / b}')")
    done
    echo "| $model | 1x${size}x${size} | $threads | $(median "${reals[@]}") | $(median "${benches[@]}") |" \
      "$(median "${ratios[@]}") ($(printf '%s\n' "${ratios[@]}" | sort -n | sed -n '1p;$p' | paste -sd-)) | $rounds |"
  done
done
