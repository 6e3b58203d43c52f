#!/usr/bin/python3
"""Convoy versus PyTorch on this machine, measured side by side in one run.

    /usr/bin/python3 apps/bench/compare_pytorch.py [--convoy build/release/apps/convoy] [--threads 1 2]
        [--models keras-cnn lenet5 | zoo | resnet20:32 ...] [--no-shapes]

Needs Debian's python3-torch and libopenblas0-pthread (CONVOY_WITH_PYTORCH=1 cluster/install-deps.sh).
PyTorch is tuned as an expert would: OpenBLAS with OPENBLAS_CORETYPE=SkylakeX and one BLAS
thread, torch.set_num_threads(T), glibc malloc tunables so freed activations are not returned
to the kernel and faulted in again every step. The untuned PyTorch (plain environment) is
measured for training too. Both frameworks train with SGD momentum, batch 64, on data in
memory; inference uses batch 256. Figures are medians of repeats; ratios are Convoy / PyTorch.
With `--rounds R` each model is measured R times, Convoy, tuned and untuned PyTorch one after
another for that model, so that the machine's drift falls on both sides alike; the table gives
the medians over rounds of each figure and of each round's ratio.

`--models` takes names with an optional input size (`resnet18:96`); `zoo` stands for resnet20
and resnet56 at 32x32 and resnet18, googlenet and alexnet at 64x64, one input channel and 10
classes as Fashion-MNIST gives. The zoo's PyTorch side is torchvision's own definitions, adapted
only in input channels and classes, and the reference CIFAR ResNets (core/zoo/torch_models.py).
For them PyTorch is also tried in channels_last, and for inference also as a frozen TorchScript
module under inference_mode; the better PyTorch figure counts, and the table says which it was.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

TUNED_ENV = {
    "OPENBLAS_CORETYPE": "SkylakeX",
    "OPENBLAS_NUM_THREADS": "1",
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:"
                      "glibc.malloc.top_pad=268435456",
}
# The reference convolution shapes are Convoy's list (core/kernels/reference_shapes.hpp), read
# from the lines of `convoy bench --shapes` and handed to the PyTorch worker as JSON.


ZOO = ["resnet20:32", "resnet56:32", "resnet18:64", "googlenet:64", "alexnet:64"]
DESIGNED_SIZE = {"keras-cnn": 28, "lenet5": 28}


def model_sizes(names):
    """['zoo', 'resnet18:96', 'lenet5'] -> [('resnet20', 32), ..., ('resnet18', 96), ('lenet5', 28)]"""
    out = []
    for name in names:
        for entry in (ZOO if name == "zoo" else [name]):
            model, _, size = entry.partition(":")
            out.append((model, int(size) if size else DESIGNED_SIZE.get(model, 32)))
    return out


def worker(threads, repeats, steps, shapes, models):
    import torch
    import torch.nn as nn
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "core", "zoo"))
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    def keras_cnn():
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(576, 64),
                             nn.ReLU(), nn.Linear(64, 10))

    def lenet5():
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                             nn.ReLU(), nn.Linear(84, 10))

    def timed(body, n):
        body()
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(n):
                body()
            rates.append(time.perf_counter() - t0)
        return statistics.median(rates)

    def build(name):
        if name == "keras-cnn":
            return keras_cnn()
        if name == "lenet5":
            return lenet5()
        from torch_models import torch_model
        return torch_model(name, channels=1, classes=10)

    def train_rate(name, size, layout):
        torch.manual_seed(0)
        model = build(name).to(memory_format=layout)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.rand(64, 1, size, size).to(memory_format=layout)
        y = torch.randint(0, 10, (64,))
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()

        return 64 * steps / timed(step, steps)

    def inference_rate(name, size, layout, frozen):
        torch.manual_seed(0)
        model = build(name).to(memory_format=layout).eval()
        xi = torch.rand(256, 1, size, size).to(memory_format=layout)
        infer_steps = max(1, steps // 4)
        with torch.inference_mode():
            if frozen:
                model = torch.jit.freeze(torch.jit.trace(model, xi[:1]))
            return 256 * infer_steps / timed(lambda: model(xi), infer_steps)

    out = {"models": {}, "shapes": []}
    for name, size in models:
        zoo = name not in DESIGNED_SIZE
        layouts = [("contiguous", torch.contiguous_format)] + ([("channels_last", torch.channels_last)] if zoo else [])
        train = max((train_rate(name, size, layout), label) for label, layout in layouts)
        tries = [(label, layout, False) for label, layout in layouts] + ([("frozen", torch.contiguous_format, True)]
                                                                         if zoo else [])
        infer = max((inference_rate(name, size, layout, frozen), label) for label, layout, frozen in tries)
        out["models"][f"{name}:{size}"] = {"train": train[0], "train_how": train[1], "inference": infer[0],
                                           "inference_how": infer[1]}
    if shapes:
        for n, cin, h, w, cout, k, pad, *rest in shapes:
            stride = rest[0] if rest else 1  # convoy bench --shapes prints a stride other than 1 eighth
            conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad)
            x = torch.rand(n, cin, h, w, requires_grad=True)
            oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
            flops = 2.0 * n * cout * oh * ow * cin * k * k
            with torch.no_grad():
                f = timed(lambda: conv(x), 3)
            g = torch.rand(n, cout, oh, ow)
            fb = timed(lambda: conv(x).backward(g), 3)
            out["shapes"].append({"forward": 3 * flops / f / 1e9, "fwd_bwd": 3 * 3 * flops / fb / 1e9})
    print(json.dumps(out))


def run_pytorch(threads, tuned, args, models, shapes=None):
    env = dict(os.environ)
    for key in TUNED_ENV:
        env.pop(key, None)
    if tuned:
        env.update(TUNED_ENV)
    cmd = ["/usr/bin/python3", __file__, "--worker", "--threads", str(threads), "--repeats", str(args.repeats),
           "--steps", str(args.steps), "--model-sizes", json.dumps(models)] + \
        (["--shape-list", json.dumps(shapes)] if shapes else [])
    return json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def run_convoy(convoy, threads, args, models, shapes=True):
    out = {"models": {}, "shapes": [], "shape_list": []}
    for model, size in models:
        text = subprocess.run([convoy, "bench", "--model", model, "--input", f"1x{size}x{size}", "--classes", "10",
                               "--threads", str(threads), "--steps", str(args.steps), "--repeats", str(args.repeats)],
                              check=True, capture_output=True, text=True).stdout
        m = re.search(r"train (\d+) images/s.*inference (\d+) images/s", text)
        out["models"][f"{model}:{size}"] = {"train": float(m.group(1)), "inference": float(m.group(2))}
    if args.no_shapes or not shapes:
        return out
    text = subprocess.run([convoy, "bench", "--shapes", "--threads", str(threads), "--repeats", str(args.repeats)],
                          check=True, capture_output=True, text=True).stdout
    for line in text.splitlines():
        m = re.match(r"\s+\(([\d,]+)\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            out["shape_list"].append(tuple(int(v) for v in m.group(1).split(",")))
            out["shapes"].append({"forward": float(m.group(2)), "fwd_bwd": float(m.group(5))})
        m = re.match(r"FMA peak of one core, measured now: ([\d.]+)", line)
        if m:
            out["peak"] = float(m.group(1))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p.add_argument("--convoy", default=os.path.join(root, "build", "release", "apps", "convoy"))
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--models", nargs="+", default=["keras-cnn", "lenet5"],
                   help="models, each NAME or NAME:SIZE (input 1xSIZExSIZE); 'zoo' for the zoo at its sizes")
    p.add_argument("--no-shapes", action="store_true", help="skip the reference convolution shapes")
    p.add_argument("--rounds", type=int, default=1,
                   help="measure each model this many times, the two sides alternated; medians over rounds")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--shape-list", type=json.loads, default=None, help=argparse.SUPPRESS)
    p.add_argument("--model-sizes", type=json.loads, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args.threads[0], args.repeats, args.steps, args.shape_list, [tuple(m) for m in args.model_sizes])
        return
    models = model_sizes(args.models)
    print("| threads | model | input | Convoy train | PyTorch tuned | ratio | PyTorch untuned | Convoy inference | "
          "PyTorch inference | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    shape_rows, peaks = [], []
    median = statistics.median
    for t in args.threads:
        for model, size in models:
            key = f"{model}:{size}"
            rounds = []  # (Convoy, tuned PyTorch, untuned PyTorch), one model's figures each
            for _ in range(args.rounds):
                rounds.append(tuple(side["models"][key] for side in (
                    run_convoy(args.convoy, t, args, [(model, size)], shapes=False),
                    run_pytorch(t, True, args, [(model, size)]), run_pytorch(t, False, args, [(model, size)]))))
            c = {k: median(r[0][k] for r in rounds) for k in ("train", "inference")}
            pt = {k: median(r[1][k] for r in rounds) for k in ("train", "inference")}
            pu_train = median(r[2]["train"] for r in rounds)
            ratio = {k: median(r[0][k] / r[1][k] for r in rounds) for k in ("train", "inference")}
            # How PyTorch ran best, in the last round (channels_last, frozen).
            how = lambda side: "" if side == "contiguous" else f" ({side})"
            print(f"| {t} | {model} | 1x{size}x{size} | {c['train']:.0f} | "
                  f"{pt['train']:.0f}{how(rounds[-1][1]['train_how'])} | {ratio['train']:.2f} | {pu_train:.0f} | "
                  f"{c['inference']:.0f} | {pt['inference']:.0f}{how(rounds[-1][1]['inference_how'])} | "
                  f"{ratio['inference']:.2f} |")
            sys.stdout.flush()
        if args.no_shapes:
            continue
        convoy = run_convoy(args.convoy, t, args, [])
        tuned = run_pytorch(t, True, args, [], convoy["shape_list"])
        for shape, cs, ps in zip(convoy["shape_list"], convoy["shapes"], tuned["shapes"]):
            shape_rows.append((t, shape, cs, ps))
        peaks.append((t, convoy["peak"], convoy["shapes"][-1]["forward"]))
        sys.stdout.flush()
    if args.no_shapes:
        return
    print()
    print("| threads | conv shape (N,Cin,H,W,Cout,K,pad) | Convoy fwd GF/s | PyTorch fwd | ratio | "
          "Convoy fwd+bwd | PyTorch fwd+bwd | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for t, shape, cs, ps in shape_rows:
        print(f"| {t} | {shape} | {cs['forward']:.1f} | {ps['forward']:.1f} | {cs['forward'] / ps['forward']:.2f} | "
              f"{cs['fwd_bwd']:.1f} | {ps['fwd_bwd']:.1f} | {cs['fwd_bwd'] / ps['fwd_bwd']:.2f} |")
    print()
    for t, peak, large in peaks:
        print(f"{t} thread(s): one core's FMA peak {peak:.1f} GFLOP/s (measured by convoy bench in this run); "
              f"the large shape's forward {large / t:.1f} GFLOP/s per core, {100 * large / t / peak:.0f}% of it")


if __name__ == "__main__":
    main()
