"""ResNet networks for 28×28 images (SNGAN-style, Miyato et al. 2018), with attention at any of 7, 14, 28.

Generator: z → linear → 7×7 (4w) → up-block → 14×14 (2w) → up-block → 28×28 (w) → norm, ReLU,
3×3 conv, tanh. Each up-block is pre-activation: norm → ReLU → 2× nearest upsample → 3×3 conv
→ norm → ReLU → 3×3 conv, plus a shortcut (upsample, and a learned 1×1 conv where the channel
count changes).

Discriminator: image → first block at 28×28 (w) → down-block → 14×14 (2w) → down-block → 7×7
(4w) → ReLU → sum over positions → linear → one logit. Each down-block is ReLU → 3×3 conv →
ReLU → 3×3 conv → 2×2 average pool, plus a 1×1-conv-and-pool shortcut. The first block is
SNGAN's "optimized" one (no activation before its first conv, which reads the raw image),
except that it keeps 28×28 so that attention can sit at every resolution ``dcgan`` offers.

Both are ``nn.Sequential`` with named stages, attention stages placed as in ``dcgan``
(:func:`~ganparts.models.base.attention_stages`), so summaries and attention pictures read alike.
Class-conditional (``model.num_classes`` > 0), as in ``dcgan``: every generator norm is
conditional BatchNorm and the discriminator's linear layer becomes the projection head (on
the sum-pooled features, as in SNGAN's projection discriminator); both then take ``(x, labels)``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Callable, Literal

import torch
from einops.layers.torch import Reduce
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from ganparts.blocks.conditional import ClassConditional, LabelledSequential, call, check_labels
from ganparts.blocks.norm import BatchNormSpec, NoNormSpec, conditional_norm, maybe_spectral_norm
from ganparts.blocks.output import image_output
from ganparts.blocks.projection import ProjectionHead
from ganparts.hookspecs import hookimpl
from ganparts.models.base import GeneratorSpec, NetworkSpec, attention_stages
from ganparts.spec.markers import Block
from ganparts.spec.registry import Registry

IMAGE_SIDE = 28
Norm = Callable[[int], nn.Module]  # channels → a norm layer


class ResNetGeneratorSpec(GeneratorSpec):
    """SNGAN-style ResNet generator for 28×28 images: linear stem at 7×7, two upsampling residual blocks."""

    resolutions = (7, 14, 28)
    conditional = True
    kind: Literal["resnet"] = "resnet"
    width: int = Field(32, ge=8, le=1024, description="channels at 28×28 (2× at 14×14, 4× at 7×7)")
    norm: Block("norm") = Field(default_factory=BatchNormSpec, description="pre-activation normalisation in each block and before the output conv")


class ResNetDiscriminatorSpec(NetworkSpec):
    """SNGAN-style ResNet discriminator for 28×28 images: three residual blocks, sum-pooled linear head."""

    resolutions = (28, 14, 7)
    conditional = True
    kind: Literal["resnet"] = "resnet"
    width: int = Field(32, ge=8, le=1024, description="channels at 28×28 (2× at 14×14, 4× at 7×7)")
    norm: Block("norm") = Field(default_factory=NoNormSpec, description="pre-activation normalisation in each block (SNGAN: none)")


def _init(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    # SNGAN's initialisation: Xavier, with gain √2 on the convs followed by ReLU inside the
    # residual branch, so a branch starts at about the shortcut's scale.
    nn.init.xavier_uniform_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def _conv(cin: int, cout: int, kernel: int = 3, gain: float = math.sqrt(2)) -> nn.Conv2d:
    return _init(nn.Conv2d(cin, cout, kernel, padding=kernel // 2), gain)


def _upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


class UpBlock(ClassConditional):
    """Pre-activation residual block that doubles the side (SNGAN's generator block); its
    norms get the labels when they are class-conditional.

    Args:
        cin, cout: channels in and out.
        norm: builds the block's two norm layers (the generator's one place that makes norms).
    """

    def __init__(self, cin: int, cout: int, *, norm: Norm) -> None:
        super().__init__()
        self.norm1, self.conv1 = norm(cin), _conv(cin, cout)
        self.norm2, self.conv2 = norm(cout), _conv(cout, cout)
        self.shortcut = _conv(cin, cout, 1, gain=1.0) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(_upsample(F.relu(call(self.norm1, x, labels))))
        h = self.conv2(F.relu(call(self.norm2, h, labels)))
        # A 1×1 conv commutes with nearest upsampling: convolving first is 4× cheaper.
        return h + _upsample(self.shortcut(x))


class DownBlock(nn.Module):
    """Residual block that halves the side with 2×2 average pooling (SNGAN's discriminator block).

    ``first``: SNGAN's optimized first block, which reads the image: no norm or ReLU before
    its first conv, and it keeps the side. Its shortcut is a 1×1 conv (any channel change).
    """

    def __init__(self, cin: int, cout: int, *, norm: Norm, first: bool = False) -> None:
        super().__init__()
        self.first = first
        self.norm1 = nn.Identity() if first else norm(cin)
        self.conv1, self.norm2, self.conv2 = _conv(cin, cout), norm(cout), _conv(cout, cout)
        self.shortcut = _conv(cin, cout, 1, gain=1.0)
        self.pool = nn.Identity() if first else nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.first else F.relu(self.norm1(x)))
        h = self.conv2(F.relu(self.norm2(h)))
        return self.pool(h) + self.pool(self.shortcut(x))


def _norms(spec: ResNetGeneratorSpec | ResNetDiscriminatorSpec, registry: Registry, num_classes: int = 0) -> Norm:
    """The one place a network's norm layers come from: class-conditional ones (the class
    enters G through their gains and biases) when ``num_classes`` is above 0."""
    if num_classes:
        norm = conditional_norm(spec.norm)
        return lambda channels: registry.create("norm", norm, channels=channels, num_classes=num_classes)
    return lambda channels: registry.create("norm", spec.norm, channels=channels)


def _logit_head(channels: int, *, num_classes: int = 0, spectral_norm: bool = False) -> nn.Module:
    """D's output, made in this one place: ReLU, a sum over positions (SNGAN's pooling), a
    linear layer to one logit per image, or with classes the projection head on the pooled features."""
    if not num_classes:
        return nn.Sequential(nn.ReLU(), Reduce("b c x y -> b c", "sum"), _init(nn.Linear(channels, 1)), nn.Flatten(0))
    projection = ProjectionHead(features=channels, num_classes=num_classes, spectral_norm=spectral_norm)
    return LabelledSequential(nn.ReLU(), Reduce("b c x y -> b c", "sum"), projection)


def _check_side(image_shape: tuple[int, int, int], network: str) -> None:
    _, height, width = image_shape
    if (height, width) != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"the resnet {network} {IMAGE_SIDE}×{IMAGE_SIDE} images, not {height}×{width}")


class ResNetGenerator(LabelledSequential):
    def __init__(
        self, spec: ResNetGeneratorSpec, *, z_dim: int, image_shape: tuple[int, int, int], registry: Registry, num_classes: int = 0,
        **_context: object,
    ):
        # Other keyword context (a future option a family may not know) is ignored, as in dcgan.
        _check_side(image_shape, "generator makes")
        w = spec.width
        norm = _norms(spec, registry, num_classes)
        stage = LabelledSequential if num_classes else nn.Sequential
        stages = [
            ("stem", nn.Sequential(_init(nn.Linear(z_dim, 4 * w * 7 * 7)), nn.Unflatten(1, (4 * w, 7, 7)))),
            *attention_stages(spec, 7, 4 * w, registry),
            ("up14", UpBlock(4 * w, 2 * w, norm=norm)),
            *attention_stages(spec, 14, 2 * w, registry),
            ("up28", UpBlock(2 * w, w, norm=norm)),
            *attention_stages(spec, 28, w, registry),
            ("to_image", stage(norm(w), nn.ReLU(), _conv(w, image_shape[0], gain=1.0), image_output(spec.slope_floor(num_classes)))),
        ]
        super().__init__(OrderedDict(stages))
        self.z_dim, self.num_classes = z_dim, num_classes
        maybe_spectral_norm(self, spec.spectral_norm)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.dim() == 2 and z.shape[1] == self.z_dim, f"expected z of shape (batch, {self.z_dim}), got {tuple(z.shape)}"
        check_labels(self.num_classes, z.shape[0], labels)
        return super().forward(z, labels)


class ResNetDiscriminator(LabelledSequential):
    def __init__(
        self, spec: ResNetDiscriminatorSpec, *, image_shape: tuple[int, int, int], registry: Registry, num_classes: int = 0,
        **_context: object,
    ):
        _check_side(image_shape, "discriminator reads")
        w = spec.width
        norm = _norms(spec, registry)
        stages = [
            ("block28", DownBlock(image_shape[0], w, norm=norm, first=True)),
            *attention_stages(spec, 28, w, registry),
            ("down14", DownBlock(w, 2 * w, norm=norm)),
            *attention_stages(spec, 14, 2 * w, registry),
            ("down7", DownBlock(2 * w, 4 * w, norm=norm)),
            *attention_stages(spec, 7, 4 * w, registry),
            ("head", _logit_head(4 * w, num_classes=num_classes, spectral_norm=spec.spectral_norm)),
        ]
        super().__init__(OrderedDict(stages))
        self.num_classes = num_classes
        maybe_spectral_norm(self, spec.spectral_norm)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(self.num_classes, x.shape[0], labels)
        return super().forward(x, labels)


@hookimpl
def ganparts_register(registry):
    registry.register("generator", spec=ResNetGeneratorSpec, builder=ResNetGenerator)
    registry.register("discriminator", spec=ResNetDiscriminatorSpec, builder=ResNetDiscriminator)
