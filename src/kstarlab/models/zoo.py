"""The embedded zoo: small models for 32×32 digits that train on a CPU in seconds.

Names follow torchvision so layer aliases work the same as on the full-size models:
the ResNet has ``conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc`` with
torchvision's ``BasicBlock``; the ViT *is* torchvision's ``VisionTransformer``
(``conv_proj, encoder.layers.encoder_layer_<i>, encoder.ln, heads.head``); the MLP is
``flatten, fc1, relu1, fc2, relu2, fc``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock
from torchvision.models.vision_transformer import VisionTransformer

INPUT_SIZE = 32


class SmallResNet(nn.Module):
    """A ResNet-18-shaped network (2 basic blocks per stage) with widths 16-32-64-128.

    The stem is one 3×3 convolution without max pooling (``maxpool`` is an identity kept
    for torchvision's names), which suits 32×32 inputs.
    """

    def __init__(
        self,
        num_classes: int = 10,
        widths: tuple[int, ...] = (16, 32, 64, 128),
        blocks: tuple[int, ...] = (2, 2, 2, 2),
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        inplanes = widths[0]
        for index, (width, count) in enumerate(zip(widths, blocks, strict=True), start=1):
            stride = 1 if index == 1 else 2
            layer, inplanes = _make_stage(inplanes, width, count, stride)
            setattr(self, f"layer{index}", layer)
        self.n_stages = len(widths)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(1, self.n_stages + 1):
            x = getattr(self, f"layer{index}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _make_stage(inplanes: int, width: int, count: int, stride: int) -> tuple[nn.Sequential, int]:
    downsample = None
    if stride != 1 or inplanes != width:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, width, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(width),
        )
    layers = [BasicBlock(inplanes, width, stride, downsample)]
    layers += [BasicBlock(width, width) for _ in range(count - 1)]
    return nn.Sequential(*layers), width


class MLP(nn.Module):
    """Two hidden ReLU layers on the flattened image."""

    def __init__(
        self, num_classes: int = 10, in_features: int = 3 * INPUT_SIZE**2, hidden=(256, 128)
    ) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(in_features, hidden[0])
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(hidden[1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.fc1(self.flatten(x)))
        return self.fc(self.relu2(self.fc2(x)))


def small_vit(num_classes: int = 10) -> VisionTransformer:
    """torchvision's ViT with 8×8 patches (16 tokens + class token), width 64, depth 4."""
    return VisionTransformer(
        image_size=INPUT_SIZE,
        patch_size=8,
        num_layers=4,
        num_heads=4,
        hidden_dim=64,
        mlp_dim=128,
        num_classes=num_classes,
    )


ZOO: dict[str, Callable[..., nn.Module]] = {
    "resnet": SmallResNet,
    "vit": small_vit,
    "mlp": MLP,
}
"""Zoo architecture name → constructor taking ``num_classes``."""


def build_zoo_model(arch: str, num_classes: int = 10) -> nn.Module:
    """A freshly initialised zoo model (call ``torch.manual_seed`` first for reproducibility)."""
    return ZOO[arch](num_classes=num_classes)
