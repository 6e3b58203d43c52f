#!/usr/bin/python3
"""Weak-scaling efficiency of data-parallel training on P nodes, projected from measured figures.

    cluster/project-scaling.py [--convoy build/release/apps/convoy] [--models keras-cnn resnet20]
        [--threads 2] [--nodes 2 4 8 16 32 64] [--link 10:50:871 --link 1:200:119]
        [--step-ms keras-cnn=4.65 ...] [--bucket-kib 256]

Measured here: each model's step time at batch 64 per node (`convoy bench --threads T`, median
of repeats; or given with --step-ms, measured on a quiet machine) and its gradient size
(`convoy summary`). Given per link: its name in Gbit/s, the
one-way latency alpha in microseconds, and the bandwidth B one TCP stream reaches in MB/s (the
defaults are 10 and 1 Gbit/s links at 50 and 200 us, with the bandwidths measured on this
machine's shaped links, cluster/README.md).

The model (LogGP-style, per bucket of S bytes, the buckets of Note [Gradient buckets]):
- ordered reduction (Note [Ordered reduction]): the exchange posts its P - 1 messages at once,
  alpha + (P - 1) o + (P - 1) S / (P B); the gather is a ring, (P - 1) (alpha + S / (P B));
- gather-all, for comparison: every rank gathers every rank's bucket and sums all of them,
  a ring all-gather of P buckets, (P - 1) (alpha + S / B);
- mpi reduction: what a tuned MPI picks, the cheaper of a ring all-reduce,
  2 (P - 1) (alpha + S / (P B)), and recursive doubling, log2(P) (alpha + S / B).
o = 2 us per message. Nothing overlaps backward (the figures are lower bounds: Convoy starts a
bucket's reduction while backward computes the layers below it).
Batch norm adds 3 sums over ranks per layer and step (Note [Sums over ranks in a pass]: the
mean and the centred squares in forward, the gradient sums in backward), small all-gathers in
the middle of the passes that nothing can hide: ceil(log2 P) (alpha + o) each, as a
recursive-doubling all-gather takes. Efficiency = compute step /
(compute step + communication). Weak scaling: every node keeps batch 64, the global batch grows.
"""
import argparse
import math
import os
import re
import subprocess

BUCKET_BYTES = 256 * 1024
PER_MESSAGE_US = 2.0


def measure(convoy, model, threads, step_ms=None):
    """(step milliseconds at batch 64, gradient bytes, batch-norm layers) of `model`: the step measured now unless given."""
    if step_ms is None:
        text = subprocess.run([convoy, "bench", "--model", model, "--threads", str(threads), "--steps", "20",
                               "--repeats", "3"], check=True, capture_output=True, text=True).stdout
        step_ms = 64 / float(re.search(r"train (\d+) images/s", text).group(1)) * 1e3
    summary = subprocess.run([convoy, "summary", "--model", model], check=True, capture_output=True, text=True).stdout
    parameters = int(re.search(r"(\d+) parameters", summary).group(1))
    batch_norms = len(re.findall(r"^\S+\s+batch_norm ", summary, re.MULTILINE))
    return step_ms, 4 * parameters, batch_norms


def buckets(gradient_bytes, bucket_bytes=BUCKET_BYTES):
    full, rest = divmod(gradient_bytes, bucket_bytes)
    return [bucket_bytes] * full + ([rest] if rest else [])


def ordered_ms(p, sizes, alpha_us, mb_per_s):
    per_byte_us = 1.0 / mb_per_s  # MB/s = bytes per microsecond
    exchange = sum(alpha_us + (p - 1) * PER_MESSAGE_US + (p - 1) * s / p * per_byte_us for s in sizes)
    gather = sum((p - 1) * (alpha_us + s / p * per_byte_us) for s in sizes)
    return (exchange + gather) / 1e3


def gather_all_ms(p, sizes, alpha_us, mb_per_s):
    return sum((p - 1) * (alpha_us + s / mb_per_s) for s in sizes) / 1e3


def mpi_ms(p, sizes, alpha_us, mb_per_s):
    per_byte_us = 1.0 / mb_per_s
    ring = sum(2 * (p - 1) * (alpha_us + s / p * per_byte_us) for s in sizes)
    doubling = sum(math.ceil(math.log2(p)) * (alpha_us + s * per_byte_us) for s in sizes)
    return min(ring, doubling) / 1e3


def statistics_ms(p, batch_norms, alpha_us):
    return 3 * batch_norms * math.ceil(math.log2(p)) * (alpha_us + PER_MESSAGE_US) / 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p.add_argument("--convoy", default=os.path.join(root, "build", "release", "apps", "convoy"))
    p.add_argument("--models", nargs="+", default=["keras-cnn", "resnet20"])
    p.add_argument("--threads", type=int, default=2, help="threads of one node's rank")
    p.add_argument("--nodes", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    p.add_argument("--link", action="append", help="GBIT:ALPHA_US:MB_PER_S (repeatable)")
    p.add_argument("--step-ms", nargs="+", default=[], help="MODEL=MS: a step time measured elsewhere")
    p.add_argument("--bucket-kib", type=int, default=BUCKET_BYTES // 1024, help="as convoy train's --bucket-kib")
    args = p.parse_args()
    given = {k: float(v) for k, v in (item.split("=") for item in args.step_ms)}
    links = [tuple(float(v) for v in link.split(":")) for link in (args.link or ["10:50:871", "1:200:119"])]
    header = "| model | step ms | gradient | link | reduction | " + " | ".join(f"{n} nodes" for n in args.nodes) + " |"
    print(header)
    print("|" + "---|" * (5 + len(args.nodes)))
    for model in args.models:
        step, gradient, batch_norms = measure(args.convoy, model, args.threads, given.get(model))
        sizes = buckets(gradient, 1024 * args.bucket_kib)
        for gbit, alpha, bandwidth in links:
            for name, cost in (("ordered", ordered_ms), ("gather-all", gather_all_ms), ("mpi", mpi_ms)):
                cells = [f"{100 * step / (step + cost(n, sizes, alpha, bandwidth) + statistics_ms(n, batch_norms, alpha)):.0f}%"
                         for n in args.nodes]
                print(f"| {model} | {step:.1f} | {gradient / 1e6:.2f} MB | {gbit:g} Gbit/s, {alpha:g} us, "
                      f"{bandwidth:g} MB/s | {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
