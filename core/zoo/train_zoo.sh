#!/usr/bin/env bash
# Trains zoo models on Fashion-MNIST with their stated recipes and prints one table row each:
# parameters, GFLOPs per image, input, training images/s, test accuracy after the last epoch,
# wall time. SIDES="convoy torch" (or TORCH=1) also runs the same recipe in PyTorch
# (core/zoo/train_torch.py); SIDES=torch runs only PyTorch's side.
#
#   core/zoo/train_zoo.sh resnet20 [alexnet googlenet resnet18]     (SEEDS="1 2 3" THREADS=2)
#   core/zoo/train_zoo.sh resnet20+augment       (60 epochs, flip and crop, cosine schedule)
#
# Runs take long on a small machine (resnet20: 20 epochs at about 600 images/s, 35 minutes, on 2
# idle cores of an AVX-512 Xeon). Each run's log, metrics and checkpoints stay in $OUT (default
# runs/zoo); a finished run is not repeated, and a stopped one (kill -USR1, or killed) resumes
# from its newest checkpoint, bitwise (PyTorch's from its last whole epoch). CONVOY is the binary (default build/release/apps/convoy);
# EPOCHS overrides the recipe's epochs and FASHION_MNIST_DIR the data, to try the script on a slice.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
convoy=${CONVOY:-$root/build/release/apps/convoy}
src=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
out=${OUT:-$root/runs/zoo}
threads=${THREADS:-2}
seeds=${SEEDS:-1}
sides=${SIDES:-convoy}
[ "${TORCH:-0}" = 1 ] && sides="convoy torch"
mkdir -p "$out"

# The recipes: input size, epochs, then convoy train's optimizer options.
recipe() {
  case $1 in
    resnet20+augment)  # He et al.'s augmentation, a cosine schedule over 60 epochs
      echo "28 60 --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --lr-schedule cosine --warmup-epochs 1 --augment flip,crop:4 --batch 128" ;;
    resnet20 | resnet32 | resnet56)
      echo "28 20 --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 1e-4 --lr-step 8 --lr-gamma 0.1 --batch 64" ;;
    resnet18 | resnet34 | googlenet)
      echo "64 10 --optimizer sgd --lr 0.05 --momentum 0.9 --weight-decay 1e-4 --lr-step 4 --lr-gamma 0.1 --batch 64" ;;
    alexnet)
      echo "64 10 --optimizer sgd --lr 0.01 --momentum 0.9 --weight-decay 5e-4 --lr-step 5 --lr-gamma 0.1 --batch 64" ;;
    *) echo "train_zoo.sh: no recipe for '$1' (resnet20/32/56, resnet20+augment, resnet18/34, googlenet, alexnet)" >&2; exit 2 ;;
  esac
}

dataset() {  # size -> the train and test files at that size
  for split in train t10k; do
    local file="$out/fashion-mnist-$split-$1.h5"
    [ -f "$file" ] || "$convoy" convert idx --images "$src/$split-images-idx3-ubyte.gz" \
      --labels "$src/$split-labels-idx1-ubyte.gz" --class-names fashion-mnist --size "$1x$1" -o "$file" >&2
    echo "$file"
  done
}

last_epoch() {  # metrics file -> "accuracy images/s seconds" of the whole run
  python3 - "$1" <<'EOF'
import json, sys
epochs = [json.loads(l) for l in open(sys.argv[1]) if '"type":"epoch"' in l.replace(" ", "")]
seconds = sum(e["seconds"] for e in epochs)
rates = sorted(e["images_per_second"] for e in epochs)
print(f'{100 * epochs[-1]["test_accuracy"]:.2f} {rates[len(rates) // 2]:.0f} {seconds / 60:.1f}')
EOF
}

echo "| model | parameters | GFLOPs/image | input | side | seed | epochs | images/s (median epoch) | test accuracy | wall time (min) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for model in "$@"; do
  read -r size epochs options <<<"$(recipe "$model")"
  epochs=${EPOCHS:-$epochs}  # a shorter run, to try the script
  mapfile -t files < <(dataset "$size")
  net=${model%+*}  # resnet20+augment is resnet20 with another recipe
  summary=$("$convoy" summary --model "$net" --input "1x${size}x${size}" --classes 10)
  params=$(grep -o '[0-9]* parameters' <<<"$summary" | head -1 | cut -d' ' -f1)
  gflops=$(grep -o '[0-9.]* GFLOPs forward' <<<"$summary" | cut -d' ' -f1)
  for seed in $seeds; do
    run="$out/$model-seed$seed"
    if [[ " $sides " == *" convoy "* ]] && ! grep -q '"epoch":'"$epochs"',.*"type":"epoch"' "$run.jsonl" 2>/dev/null; then
      # A stopped run (a signal, the end of a session) continues from its newest checkpoint,
      # appending to its metrics; without one it starts over.
      compgen -G "$run.ckpt/step-*.ckpt" > /dev/null || rm -f "$run.jsonl"
      # shellcheck disable=SC2086
      "$convoy" train --model "$net" --data "${files[0]}" --test "${files[1]}" --epochs "$epochs" $options \
        --seed "$seed" --threads "$threads" --progress lines --metrics "$run.jsonl" \
        --checkpoint-dir "$run.ckpt" --checkpoint-every 500 --keep 2 --resume auto >> "$run.log" 2>&1
    fi
    if [[ " $sides " == *" convoy "* ]]; then
      read -r accuracy rate minutes <<<"$(last_epoch "$run.jsonl")"
      echo "| $model | $params | $gflops | 1x${size}x${size} | Convoy | $seed | $epochs | $rate | $accuracy% | $minutes |"
    fi
    if [[ " $sides " == *" torch "* ]]; then
      torch_run="$out/$model-torch-seed$seed"
      if ! grep -q '"epoch": '"$epochs"',' "$torch_run.jsonl" 2>/dev/null; then
        # shellcheck disable=SC2086
        /usr/bin/python3 "$root/core/zoo/train_torch.py" --model "$net" --data "${files[0]}" --test "${files[1]}" \
          --epochs "$epochs" ${options#--optimizer sgd } --seed "$seed" \
          --threads "$threads" --metrics "$torch_run.jsonl" --checkpoint "$torch_run.pt" >> "$torch_run.log" 2>&1
      fi
      read -r accuracy rate minutes <<<"$(last_epoch "$torch_run.jsonl")"
      echo "| $model | $params | $gflops | 1x${size}x${size} | PyTorch | $seed | $epochs | $rate | $accuracy% | $minutes |"
    fi
  done
done
