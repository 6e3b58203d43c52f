"""The zoo's models as PyTorch modules, for the scripts beside this file that compare Convoy with
PyTorch: torchvision's alexnet, googlenet and resnet18 with a first convolution for `channels`
inputs, and He et al. 2015's CIFAR ResNets (torchvision has none), named as Convoy's zoo names
its layers, so `convoy export` files load by name.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

class CifarBlock(nn.Module):
    """He et al. 2015's basic block with the parameter-free shortcut (option A)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if stride != 1 or cin != cout else None
        self.stride = stride

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.pad is None:
            return F.relu(y + x)
        shortcut = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(y + shortcut)


class CifarResNet(nn.Module):
    def __init__(self, blocks, classes=10, channels=1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for stage, cout in enumerate((16, 32, 64), start=1):
            layers = []
            for b in range(blocks):
                layers.append(CifarBlock(cin, cout, 2 if b == 0 and stage > 1 else 1))
                cin = cout
            setattr(self, f"layer{stage}", nn.Sequential(*layers))
        self.linear = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


CIFAR_BLOCKS = {"resnet20": 3, "resnet32": 5, "resnet56": 9}


def torch_model(name, channels=1, classes=10):
    """The reference model of zoo model `name` for `channels`-channel inputs and `classes` classes."""
    if name in CIFAR_BLOCKS:
        return CifarResNet(CIFAR_BLOCKS[name], classes, channels)
    if name == "alexnet":
        m = torchvision.models.alexnet(num_classes=classes)
        m.features[0] = nn.Conv2d(channels, 64, 11, 4, 2)
        return m
    if name == "googlenet":
        m = torchvision.models.googlenet(num_classes=classes, aux_logits=False, init_weights=False, transform_input=False)
        m.conv1.conv = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
        return m
    m = getattr(torchvision.models, name)(num_classes=classes)
    m.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
    return m
