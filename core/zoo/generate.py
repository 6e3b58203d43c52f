#!/usr/bin/env python3
"""Writes the zoo's model files (core/zoo/*.json) from the architectures below.

Layer names follow torchvision's state_dict keys (conv1, layer1.0.bn2, features.3, ...), so
weights exported by `convoy export` map onto torchvision's models name by name. The files leave
out "input" and "classes": a model takes both from the dataset it is trained on, and an option
written "classes" becomes the class count. "example_input" is the sample shape the architecture
was designed for ([C, H, W]); training ignores it, `convoy bench` uses it when no --input is given. Run from the repository root after changing this
file: python3 core/zoo/generate.py
"""
import json
import pathlib


class Spec:
    def __init__(self, name, note, example_input):
        self.name, self.note, self.example_input, self.layers = name, note, example_input, []

    def add(self, type_, name, inputs=None, **options):
        layer = {"type": type_, "name": name}
        previous = [self.layers[-1]["name"]] if self.layers else [None]
        if inputs and inputs != previous:  # the default input is the layer before
            layer["inputs"] = inputs
        if options:
            layer["options"] = options
        self.layers.append(layer)
        return name

    def write(self, folder):
        # One layer a line: the files are read by people as much as by Convoy.
        lines = ",\n".join("  " + json.dumps(layer) for layer in self.layers)
        head = json.dumps({"name": self.name, "note": self.note, "example_input": self.example_input})[:-1]
        (folder / f"{self.name}.json").write_text(head + ', "layers": [\n' + lines + "\n]}\n")


def conv_bn(s, name, x, out, kernel, stride=1, padding=0, eps=1e-5, bn_name=None, relu=True):
    """conv (no bias) -> batch norm [-> relu]; returns the last layer's name."""
    s.add("conv2d", name, [x] if x else None, out_channels=out, kernel=kernel, stride=stride, padding=padding, bias=False)
    y = s.add("batch_norm", bn_name or name.replace("conv", "bn"), epsilon=eps)
    return s.add("relu", y + ".relu") if relu else y


def basic_block(s, prefix, x, out, stride, shortcut):
    """He et al.'s two 3x3 convolutions with a residual add, then ReLU."""
    y = conv_bn(s, prefix + ".conv1", x, out, 3, stride, 1)
    y = conv_bn(s, prefix + ".conv2", y, out, 3, 1, 1, relu=False)
    if shortcut == "conv":  # torchvision: 1x1 stride-s convolution and batch norm
        s.add("conv2d", prefix + ".downsample.0", [x], out_channels=out, kernel=1, stride=stride, padding=0, bias=False)
        x = s.add("batch_norm", prefix + ".downsample.1")
    elif shortcut == "pad":  # He et al. 2015's option A: subsample, zero channels
        x = s.add("pad_shortcut", prefix + ".shortcut", [x], out_channels=out, stride=stride)
    y = s.add("add", prefix + ".add", [y, x])
    return s.add("relu", prefix + ".relu")


def resnet_imagenet(name, blocks):
    s = Spec(name, f"torchvision's {name} (BasicBlock, 1x1 convolution shortcuts); weights interchange with it",
             [3, 224, 224])
    x = conv_bn(s, "conv1", None, 64, 7, 2, 3)
    x = s.add("max_pool2d", "maxpool", window=3, stride=2, padding=1)
    in_channels = 64
    for stage, (count, out) in enumerate(zip(blocks, [64, 128, 256, 512]), start=1):
        for b in range(count):
            stride = 2 if stage > 1 and b == 0 else 1
            shortcut = "conv" if stride != 1 or in_channels != out else None
            x = basic_block(s, f"layer{stage}.{b}", x, out, stride, shortcut)
            in_channels = out
    s.add("global_avg_pool2d", "avgpool")
    s.add("dense", "fc", units="classes")
    return s


def resnet_cifar(n):
    name = f"resnet{6 * n + 2}"
    s = Spec(name, f"He et al. 2015's CIFAR {name}: 16/32/64 channels, parameter-free (option A) shortcuts",
             [3, 32, 32])
    x = conv_bn(s, "conv1", None, 16, 3, 1, 1)
    in_channels = 16
    for stage, out in enumerate([16, 32, 64], start=1):
        for b in range(n):
            stride = 2 if stage > 1 and b == 0 else 1
            shortcut = "pad" if stride != 1 or in_channels != out else None
            x = basic_block(s, f"layer{stage}.{b}", x, out, stride, shortcut)
            in_channels = out
    s.add("global_avg_pool2d", "avgpool")
    s.add("dense", "linear", units="classes")
    return s


def alexnet():
    s = Spec("alexnet", "torchvision's AlexNet (Krizhevsky 2014's one-GPU variant); weights interchange with it",
             [3, 224, 224])
    s.add("conv2d", "features.0", out_channels=64, kernel=11, stride=4, padding=2)
    s.add("relu", "features.1")
    s.add("max_pool2d", "features.2", window=3, stride=2)
    s.add("conv2d", "features.3", out_channels=192, kernel=5, padding=2)
    s.add("relu", "features.4")
    s.add("max_pool2d", "features.5", window=3, stride=2)
    s.add("conv2d", "features.6", out_channels=384, kernel=3, padding=1)
    s.add("relu", "features.7")
    s.add("conv2d", "features.8", out_channels=256, kernel=3, padding=1)
    s.add("relu", "features.9")
    s.add("conv2d", "features.10", out_channels=256, kernel=3, padding=1)
    s.add("relu", "features.11")
    s.add("max_pool2d", "features.12", window=3, stride=2)
    s.add("adaptive_avg_pool2d", "avgpool", size=[6, 6])
    s.add("flatten", "flatten")
    s.add("dropout", "classifier.0", rate=0.5)
    s.add("dense", "classifier.1", units=4096)
    s.add("relu", "classifier.2")
    s.add("dropout", "classifier.3", rate=0.5)
    s.add("dense", "classifier.4", units=4096)
    s.add("relu", "classifier.5")
    s.add("dense", "classifier.6", units="classes")
    return s


def googlenet():
    s = Spec("googlenet", "torchvision's GoogLeNet without auxiliary heads. Like torchvision, the branch the paper "
             "gives a 5x5 convolution has a 3x3 one (pytorch/vision#906), so weights interchange with it", [3, 224, 224])
    eps = 0.001

    def basic(name, x, out, kernel, stride=1, padding=0):
        return conv_bn(s, name + ".conv", x, out, kernel, stride, padding, eps, bn_name=name + ".bn")

    def inception(name, x, c1, c3r, c3, c5r, c5, pool):
        b1 = basic(name + ".branch1", x, c1, 1)
        b2 = basic(name + ".branch2.1", basic(name + ".branch2.0", x, c3r, 1), c3, 3, padding=1)
        b3 = basic(name + ".branch3.1", basic(name + ".branch3.0", x, c5r, 1), c5, 3, padding=1)
        p = s.add("max_pool2d", name + ".branch4.pool", [x], window=3, stride=1, padding=1, ceil_mode=True)
        b4 = basic(name + ".branch4.1", p, pool, 1)
        return s.add("concat", name + ".concat", [b1, b2, b3, b4])

    x = basic("conv1", None, 64, 7, 2, 3)
    x = s.add("max_pool2d", "maxpool1", window=3, stride=2, ceil_mode=True)
    x = basic("conv2", x, 64, 1)
    x = basic("conv3", x, 192, 3, padding=1)
    x = s.add("max_pool2d", "maxpool2", window=3, stride=2, ceil_mode=True)
    x = inception("inception3a", x, 64, 96, 128, 16, 32, 32)
    x = inception("inception3b", x, 128, 128, 192, 32, 96, 64)
    x = s.add("max_pool2d", "maxpool3", [x], window=3, stride=2, ceil_mode=True)
    x = inception("inception4a", x, 192, 96, 208, 16, 48, 64)
    x = inception("inception4b", x, 160, 112, 224, 24, 64, 64)
    x = inception("inception4c", x, 128, 128, 256, 24, 64, 64)
    x = inception("inception4d", x, 112, 144, 288, 32, 64, 64)
    x = inception("inception4e", x, 256, 160, 320, 32, 128, 128)
    x = s.add("max_pool2d", "maxpool4", [x], window=2, stride=2, ceil_mode=True)
    x = inception("inception5a", x, 256, 160, 320, 32, 128, 128)
    x = inception("inception5b", x, 384, 192, 384, 48, 128, 128)
    s.add("global_avg_pool2d", "avgpool", [x])
    s.add("dropout", "dropout", rate=0.2)
    s.add("dense", "fc", units="classes")
    return s


def chain(name, note, layers):
    """A plain chain named as Keras names layers: type_index (conv2d_1, relu_2, ...), for 1x28x28 samples."""
    s = Spec(name, note, [1, 28, 28])
    for i, (type_, options) in enumerate(layers, start=1):
        s.add(type_, f"{type_}_{i}", **options)
    return s


def lenet5():
    return chain("lenet5", "LeCun et al. 1998 as usually trained today: ReLU and max pooling, padding 2 on the first "
                 "convolution so 28x28 inputs behave like the original 32x32", [
                     ("conv2d", dict(out_channels=6, kernel=5, padding=2)), ("relu", {}), ("max_pool2d", dict(window=2)),
                     ("conv2d", dict(out_channels=16, kernel=5)), ("relu", {}), ("max_pool2d", dict(window=2)),
                     ("flatten", {}), ("dense", dict(units=120)), ("relu", {}), ("dense", dict(units=84)),
                     ("relu", {}), ("dense", dict(units="classes"))])


def keras_cnn():
    return chain("keras-cnn", "the CNN of the TensorFlow tutorial (tensorflow.org/tutorials/images/cnn)", [
        ("conv2d", dict(out_channels=32, kernel=3)), ("relu", {}), ("max_pool2d", dict(window=2)),
        ("conv2d", dict(out_channels=64, kernel=3)), ("relu", {}), ("max_pool2d", dict(window=2)),
        ("conv2d", dict(out_channels=64, kernel=3)), ("relu", {}), ("flatten", {}), ("dense", dict(units=64)),
        ("relu", {}), ("dense", dict(units="classes"))])


def main():
    folder = pathlib.Path(__file__).resolve().parent
    for spec in [lenet5(), keras_cnn(), alexnet(), googlenet(), resnet_imagenet("resnet18", [2, 2, 2, 2]),
                 resnet_imagenet("resnet34", [3, 4, 6, 3]), resnet_cifar(3), resnet_cifar(5), resnet_cifar(9)]:
        spec.write(folder)


if __name__ == "__main__":
    main()
