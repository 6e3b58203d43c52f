#!/usr/bin/env bash
# Converts Debian's Fashion-MNIST (dataset-fashion-mnist) to HDF5 once, then trains keras-cnn
# on the full training set and prints its test accuracy. Extra arguments go to `convoy train`
# (e.g. --epochs 5 --threads 2). CONVOY (the binary) and DATA_DIR may be overridden.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
convoy=${CONVOY:-$root/build/release/apps/convoy}
src=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
data=${DATA_DIR:-$root/data}
mkdir -p "$data"

for split in train t10k; do
  out="$data/fashion-mnist-$split.h5"
  if [ ! -f "$out" ]; then
    "$convoy" convert idx --images "$src/$split-images-idx3-ubyte.gz" --labels "$src/$split-labels-idx1-ubyte.gz" \
      --class-names fashion-mnist -o "$out"
  fi
done

# Defaults reach >= 91% test accuracy (see README: Results). Adam with a 10x lower rate for
# the last epochs, as the Keras/PyTorch tutorials' schedules do.
exec "$convoy" train --model keras-cnn --data "$data/fashion-mnist-train.h5" --test "$data/fashion-mnist-t10k.h5" \
  --optimizer adam --lr 1e-3 --lr-step 8 --lr-gamma 0.1 --epochs 10 --batch 64 --seed 42 \
  --metrics "$data/metrics.jsonl" "$@"
