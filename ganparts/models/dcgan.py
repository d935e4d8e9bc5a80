"""DCGAN-style networks for 28×28 images (MNIST), with attention at any of 7, 14, 28.

Generator: z → 7×7 (4w) → 14×14 (2w) → 28×28 (w) → image; discriminator: the mirror.
Both are ``nn.Sequential`` with named stages, so summaries read like the diagram.
Class-conditional (``model.num_classes`` > 0): G's norms become conditional BatchNorm and
D's head the projection head; both then take ``(x, labels)``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from ganparts.spec.markers import Block
from ganparts.blocks.conditional import LabelledSequential, check_labels
from ganparts.blocks.norm import BatchNormSpec, NoNormSpec, conditional_norm, maybe_spectral_norm
from ganparts.blocks.output import image_output
from ganparts.blocks.projection import ProjectionHead
from ganparts.hookspecs import hookimpl
from ganparts.models.base import GeneratorSpec, NetworkSpec, attention_stages
from ganparts.spec.registry import Registry

IMAGE_SIDE = 28


class DCGANGeneratorSpec(GeneratorSpec):
    """DCGAN generator for 28×28 images: linear stem at 7×7, two transposed-conv upsamplings."""

    resolutions = (7, 14, 28)
    conditional = True
    kind: Literal["dcgan"] = "dcgan"
    width: int = Field(32, ge=8, le=1024, description="channels at 28×28 (2× at 14×14, 4× at 7×7)")
    norm: Block("norm") = Field(default_factory=BatchNormSpec, description="feature normalisation after each stage")
    stem_bias: bool | None = Field(
        None,
        description="a bias on the linear stem before its norm; default (null): only in an unconditional G",
    )


class DCGANDiscriminatorSpec(NetworkSpec):
    """DCGAN discriminator for 28×28 images: 3×3 stem, two strided-conv downsamplings, linear head."""

    resolutions = (28, 14, 7)
    conditional = True
    kind: Literal["dcgan"] = "dcgan"
    width: int = Field(32, ge=8, le=1024, description="channels at 28×28 (2× at 14×14, 4× at 7×7)")
    norm: Block("norm") = Field(default_factory=NoNormSpec, description="feature normalisation after each stage")
    leak: float = Field(0.1, ge=0, lt=1, description="LeakyReLU negative slope")


class DCGANGenerator(LabelledSequential):
    def __init__(
        self, spec: DCGANGeneratorSpec, *, z_dim: int, image_shape: tuple[int, int, int], registry: Registry, num_classes: int = 0
    ):
        channels, height, width = image_shape
        if (height, width) != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(f"the dcgan generator makes {IMAGE_SIDE}×{IMAGE_SIDE} images, not {height}×{width}")
        w = spec.width
        if num_classes:  # the class enters G through every norm's gain and bias
            norm_spec, context, stage = conditional_norm(spec.norm), {"num_classes": num_classes}, LabelledSequential
        else:
            norm_spec, context, stage = spec.norm, {}, nn.Sequential
        norm = lambda c: registry.create("norm", norm_spec, channels=c, **context)  # noqa: E731
        stages = [
            ("stem", stage(nn.Linear(z_dim, 4 * w * 7 * 7, bias=_stem_bias(spec, num_classes)), nn.Unflatten(1, (4 * w, 7, 7)), norm(4 * w), nn.ReLU())),
            *attention_stages(spec, 7, 4 * w, registry),
            ("up14", stage(nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), norm(2 * w), nn.ReLU())),
            *attention_stages(spec, 14, 2 * w, registry),
            ("up28", stage(nn.ConvTranspose2d(2 * w, w, 4, 2, 1), norm(w), nn.ReLU())),
            *attention_stages(spec, 28, w, registry),
            ("to_image", nn.Sequential(nn.Conv2d(w, channels, 3, padding=1), image_output(spec.slope_floor(num_classes)))),
        ]
        super().__init__(OrderedDict(stages))
        self.z_dim, self.num_classes = z_dim, num_classes
        maybe_spectral_norm(self, spec.spectral_norm)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.dim() == 2 and z.shape[1] == self.z_dim, f"expected z of shape (batch, {self.z_dim}), got {tuple(z.shape)}"
        check_labels(self.num_classes, z.shape[0], labels)
        return super().forward(z, labels)


def _stem_bias(spec: DCGANGeneratorSpec, num_classes: int) -> bool:
    """A conditional G's stem has no bias, like DCGAN's first layer. With spectral norm capping
    the stem's weight, its 7×7 bias pattern (which BatchNorm2d, pooling over positions, does
    not divide out) outgrew z's share, and with the class biases of the norms after it G drew
    one image per class, whatever z. An unconditional G keeps it: without, its FID was worse
    (both in docs/results.md)."""
    return spec.stem_bias if spec.stem_bias is not None else not num_classes


class DCGANDiscriminator(LabelledSequential):
    def __init__(self, spec: DCGANDiscriminatorSpec, *, image_shape: tuple[int, int, int], registry: Registry, num_classes: int = 0):
        channels, height, width = image_shape
        if (height, width) != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(f"the dcgan discriminator reads {IMAGE_SIDE}×{IMAGE_SIDE} images, not {height}×{width}")
        w = spec.width
        norm = lambda c: registry.create("norm", spec.norm, channels=c)  # noqa: E731
        act = lambda: nn.LeakyReLU(spec.leak)  # noqa: E731
        stages = [
            ("from_image", nn.Sequential(nn.Conv2d(channels, w, 3, padding=1), act())),
            *attention_stages(spec, 28, w, registry),
            ("down14", nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), norm(2 * w), act())),
            *attention_stages(spec, 14, 2 * w, registry),
            ("down7", nn.Sequential(nn.Conv2d(2 * w, 4 * w, 4, 2, 1), norm(4 * w), act())),
            *attention_stages(spec, 7, 4 * w, registry),
            ("head", (
                ProjectionHead(features=4 * w * 7 * 7, num_classes=num_classes, spectral_norm=spec.spectral_norm)
                if num_classes else nn.Sequential(nn.Flatten(), nn.Linear(4 * w * 7 * 7, 1), nn.Flatten(0))
            )),
        ]
        super().__init__(OrderedDict(stages))
        self.num_classes = num_classes
        maybe_spectral_norm(self, spec.spectral_norm)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(self.num_classes, x.shape[0], labels)
        return super().forward(x, labels)


@hookimpl
def ganparts_register(registry):
    registry.register("generator", spec=DCGANGeneratorSpec, builder=DCGANGenerator)
    registry.register("discriminator", spec=DCGANDiscriminatorSpec, builder=DCGANDiscriminator)
