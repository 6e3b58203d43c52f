#!/usr/bin/python3
"""A zoo model trained by PyTorch with the recipe `convoy train` is given, for accuracy side by side.

    /usr/bin/python3 core/zoo/train_torch.py --model resnet20 --data data/fashion-mnist-train.h5 \
        --test data/fashion-mnist-t10k.h5 --lr 0.1 --momentum 0.9 --weight-decay 1e-4 \
        --lr-step 8 --lr-gamma 0.1 --epochs 20 --batch 64 --seed 1 --threads 2 --metrics torch.jsonl

The same data (Convoy's HDF5 files, pixels scaled to [0, 1], no augmentation), the same
optimizer (SGD with momentum, coupled weight decay on every parameter, as torch.optim.SGD and
Convoy both do), the same step schedule per epoch, the same batch and epoch count, samples
reshuffled every epoch. Weights start from PyTorch's own initialisation. After every epoch the
test set is evaluated in inference mode; the metrics file gets one JSON line per epoch with the
fields Convoy's --metrics lines use (epoch, train_loss, train_accuracy, test_loss,
test_accuracy, seconds). With --checkpoint FILE the run's state (model, optimizer, schedule, the
shuffle and global random generators, the epochs done) is written there after every epoch,
atomically, and a run started again with the same FILE continues after its last whole epoch.
With --stop-after N it stops after N steps of the first epoch and prints its memory the way
`convoy train` does: the peak resident set and the resident set before the model was built.

Needs Debian's python3-torch, python3-torchvision and python3-h5py
(CONVOY_WITH_PYTORCH=1 cluster/install-deps.sh).
"""
import argparse
import json
import os
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from torch_models import torch_model


def load(path):
    """Images [N, C, H, W] float32 in [0, 1] and int64 labels from a Convoy HDF5 dataset."""
    with h5py.File(path, "r") as f:
        images = np.array(f["images"])  # [N, H, W, C] uint8
        labels = np.array(f["labels"]).astype(np.int64)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels)


def evaluate(model, x, y, batch=256):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            loss += F.cross_entropy(out, y[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(x), correct / len(x)


def resident_mb():
    """This process's resident memory now and at its peak in MB (VmRSS, VmHWM), as convoy train's
    memory line reads them."""
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return [int(fields[k].split()[0]) * 1024 / 1e6 for k in ("VmRSS", "VmHWM")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--lr-step", type=int, default=8, help="multiply the rate by --lr-gamma every this many epochs")
    ap.add_argument("--lr-gamma", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--metrics", help="JSON lines, one per epoch")
    ap.add_argument("--checkpoint", help="state after each epoch; resumes from it when it exists")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop after this many steps and print the memory line convoy train prints")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x, y = load(args.data)
    tx, ty = load(args.test)
    before_model = resident_mb()[0]
    model = torch_model(args.model, channels=x.shape[1], classes=int(max(y.max(), ty.max())) + 1)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.StepLR(opt, args.lr_step, args.lr_gamma) if args.lr_step > 0 else None
    shuffle = torch.Generator().manual_seed(args.seed)
    first = 0
    if args.checkpoint and os.path.exists(args.checkpoint):
        state = torch.load(args.checkpoint)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if schedule:
            schedule.load_state_dict(state["schedule"])
        shuffle.set_state(state["shuffle"])
        torch.set_rng_state(state["rng"])
        first = state["epochs"]
        print(f"resumed from {args.checkpoint} after epoch {first}", flush=True)
    metrics = None
    if args.metrics:
        # A resumed run keeps the metrics of the epochs its checkpoint holds, and no later ones.
        kept = []
        if first and os.path.exists(args.metrics):
            kept = [l for l in open(args.metrics) if json.loads(l)["epoch"] <= first]
        metrics = open(args.metrics, "w")
        metrics.writelines(kept)
    for epoch in range(first, args.epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(x), generator=shuffle)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(x), args.batch):
            idx = order[i:i + args.batch]
            out = model(x[idx])
            loss = F.cross_entropy(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == y[idx]).sum().item()
            if args.stop_after and i // args.batch + 1 == args.stop_after:
                print(f"memory: peak {resident_mb()[1]:.0f} MB resident, {before_model:.0f} MB before the model was built")
                return
        seconds = time.perf_counter() - start
        if schedule:
            schedule.step()
        test_loss, test_accuracy = evaluate(model, tx, ty)
        line = {"type": "epoch", "epoch": epoch + 1, "train_loss": loss_sum / len(x), "train_accuracy": correct / len(x),
                "test_loss": test_loss, "test_accuracy": test_accuracy, "seconds": seconds,
                "images_per_second": len(x) / seconds}
        print(f"epoch {epoch + 1}/{args.epochs} train loss {line['train_loss']:.4f} accuracy "
              f"{100 * line['train_accuracy']:.2f}%  test loss {test_loss:.4f} accuracy {100 * test_accuracy:.2f}%  "
              f"{seconds:.0f} s ({line['images_per_second']:.0f} img/s)", flush=True)
        if metrics:
            metrics.write(json.dumps(line) + "\n")
            metrics.flush()
        if args.checkpoint:
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "schedule": schedule.state_dict() if schedule else None,
                     "shuffle": shuffle.get_state(), "rng": torch.get_rng_state(), "epochs": epoch + 1}
            torch.save(state, args.checkpoint + ".tmp")
            os.replace(args.checkpoint + ".tmp", args.checkpoint)


if __name__ == "__main__":
    main()
