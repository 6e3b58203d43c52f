#!/usr/bin/python3
"""Do the zoo's models compute what torchvision's do? Logits of the same weights, side by side.

    /usr/bin/python3 core/zoo/compare_torchvision.py [--convoy build/release/apps/convoy] [--models ...]

For each model: Convoy trains it a few steps on a slice of Fashion-MNIST (so the batch-norm
running statistics and every weight are no longer their initial values), `convoy export` writes
the weights, `convoy eval --logits` writes the model's outputs in inference mode, and the same
weights loaded into torchvision's alexnet, googlenet and resnet18 (and the CIFAR ResNet-20
below, torchvision has none) give theirs. The first convolution takes one channel and the
classifier has 10 outputs, as Convoy's templates do for this data. Passes when the largest
difference is below 1e-4 of the largest logit.

Needs Debian's python3-torch, python3-torchvision and python3-h5py
(CONVOY_WITH_PYTORCH=1 cluster/install-deps.sh) and /usr/share/datasets/fashion-mnist.
"""
import argparse
import gzip
import pathlib
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

from torch_models import torch_model

FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")
SIZES = {"alexnet": 64, "googlenet": 64, "resnet18": 64, "resnet20": 28}  # input height and width


def load_exported(model, path):
    """Copies every /<layer>/<tensor> of a `convoy export` file into the model's state_dict."""
    state = model.state_dict()
    loaded = set()
    with h5py.File(path, "r") as f:
        for layer in f:
            for tensor in f[layer]:
                key = f"{layer}.{tensor}"
                if key not in state:
                    sys.exit(f"{path}: /{layer}/{tensor} has no counterpart in the torch model")
                value = torch.from_numpy(np.array(f[layer][tensor]))
                if value.shape != state[key].shape:
                    sys.exit(f"{path}: /{layer}/{tensor} is {tuple(value.shape)}, torch has {tuple(state[key].shape)}")
                state[key].copy_(value)
                loaded.add(key)
    missing = [k for k, v in state.items() if k not in loaded and not k.endswith("num_batches_tracked")]
    if missing:
        sys.exit(f"{path}: no values for {missing}")


def write_idx_slice(folder, count):
    """The first `count` Fashion-MNIST test images and labels as plain IDX files."""
    with gzip.open(FASHION / "t10k-images-idx3-ubyte.gz") as f:
        images = f.read()
    with gzip.open(FASHION / "t10k-labels-idx1-ubyte.gz") as f:
        labels = f.read()
    rows = int.from_bytes(images[8:12], "big") * int.from_bytes(images[12:16], "big")
    (folder / "images.idx").write_bytes(images[:4] + count.to_bytes(4, "big") + images[8:16] + images[16:16 + count * rows])
    (folder / "labels.idx").write_bytes(labels[:4] + count.to_bytes(4, "big") + labels[8:8 + count])


def run(cmd, ok=(0,)):
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if done.returncode not in ok:
        sys.exit(f"{' '.join(map(str, cmd))} exited with {done.returncode}:\n{done.stderr}")
    return done.stdout


def compare(name, convoy, folder, threads, steps):
    size = SIZES[name]
    data = folder / f"slice-{size}.h5"
    if not data.exists():
        run([convoy, "convert", "idx", "--images", folder / "images.idx", "--labels", folder / "labels.idx",
             "--class-names", "fashion-mnist", "--size", f"{size}x{size}", "-o", data])
    checkpoints = folder / f"{name}-ckpt"
    # --stop-after exits with 3 after writing its checkpoint.
    run([convoy, "train", "--model", name, "--data", data, "--batch", 16, "--optimizer", "sgd", "--lr", 0.01,
         "--momentum", 0.9, "--stop-after", steps, "--checkpoint-dir", checkpoints, "--threads", threads,
         "--log-every", 1000, "--seed", 7], ok=(3,))
    checkpoint = checkpoints / f"step-{steps}.ckpt"
    weights, logits = folder / f"{name}-weights.h5", folder / f"{name}-logits.h5"
    run([convoy, "export", "--checkpoint", checkpoint, "-o", weights])
    run([convoy, "eval", "--checkpoint", checkpoint, "--data", data, "--logits", logits, "--threads", threads])

    model = torch_model(name)
    load_exported(model, weights)
    model.eval()
    with h5py.File(data, "r") as f:
        images = np.array(f["images"], dtype=np.float32) / 255.0  # [N, H, W, C] uint8 -> [0, 1]
    with h5py.File(logits, "r") as f:
        ours = np.array(f["logits"])
    with torch.no_grad():
        theirs = model(torch.from_numpy(images.transpose(0, 3, 1, 2).copy())).numpy()
    error = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    print(f"{name:10s} {size}x{size}  samples {len(ours)}  largest logit {np.abs(theirs).max():8.4f}  "
          f"max difference / largest logit {error:.2e}  {'ok' if error < 1e-4 else 'FAIL'}", flush=True)
    return error < 1e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--convoy", default="build/release/apps/convoy")
    ap.add_argument("--models", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3, help="training steps before the comparison")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    convoy = pathlib.Path(args.convoy).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        write_idx_slice(folder, args.samples)
        results = [compare(name, convoy, folder, args.threads, args.steps) for name in args.models]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
