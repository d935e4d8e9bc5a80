"""DCGAN-style networks for 28×28 images (MNIST), with attention at any of 7, 14, 28.

Generator: z → 7×7 (4w) → 14×14 (2w) → 28×28 (w) → image; discriminator: the mirror.
Both are ``nn.Sequential`` with named stages, so summaries read like the diagram.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from ganparts.spec.markers import Block
from ganparts.blocks.norm import BatchNormSpec, NoNormSpec, maybe_spectral_norm
from ganparts.hookspecs import hookimpl
from ganparts.models.base import NetworkSpec
from ganparts.spec.registry import Registry

IMAGE_SIDE = 28


class DCGANGeneratorSpec(NetworkSpec):
    """DCGAN generator for 28×28 images: linear stem at 7×7, two transposed-conv upsamplings."""

    resolutions = (7, 14, 28)
    kind: Literal["dcgan"] = "dcgan"
    width: int = Field(32, ge=8, le=1024, description="channels at 28×28 (2× at 14×14, 4× at 7×7)")
    norm: Block("norm") = Field(default_factory=BatchNormSpec, description="feature normalisation after each stage")


class DCGANDiscriminatorSpec(NetworkSpec):
    """DCGAN discriminator for 28×28 images: 3×3 stem, two strided-conv downsamplings, linear head."""

    resolutions = (28, 14, 7)
    kind: Literal["dcgan"] = "dcgan"
    width: int = Field(32, ge=8, le=1024, description="channels at 28×28 (2× at 14×14, 4× at 7×7)")
    norm: Block("norm") = Field(default_factory=NoNormSpec, description="feature normalisation after each stage")
    leak: float = Field(0.1, ge=0, lt=1, description="LeakyReLU negative slope")


def _attention_stages(spec: NetworkSpec, resolution: int, channels: int, registry: Registry):
    blocks = [b for b in spec.attention if b.resolution == resolution]
    for i, block in enumerate(blocks):
        name = f"attn{resolution}" if len(blocks) == 1 else f"attn{resolution}_{i}"
        yield name, registry.create("attention", block, channels=channels)


class DCGANGenerator(nn.Sequential):
    def __init__(self, spec: DCGANGeneratorSpec, *, z_dim: int, image_shape: tuple[int, int, int], registry: Registry):
        channels, height, width = image_shape
        if (height, width) != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(f"the dcgan generator makes {IMAGE_SIDE}×{IMAGE_SIDE} images, not {height}×{width}")
        w = spec.width
        norm = lambda c: registry.create("norm", spec.norm, channels=c)  # noqa: E731
        stages = [
            ("stem", nn.Sequential(nn.Linear(z_dim, 4 * w * 7 * 7), nn.Unflatten(1, (4 * w, 7, 7)), norm(4 * w), nn.ReLU())),
            *_attention_stages(spec, 7, 4 * w, registry),
            ("up14", nn.Sequential(nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), norm(2 * w), nn.ReLU())),
            *_attention_stages(spec, 14, 2 * w, registry),
            ("up28", nn.Sequential(nn.ConvTranspose2d(2 * w, w, 4, 2, 1), norm(w), nn.ReLU())),
            *_attention_stages(spec, 28, w, registry),
            ("to_image", nn.Sequential(nn.Conv2d(w, channels, 3, padding=1), nn.Tanh())),
        ]
        super().__init__(OrderedDict(stages))
        self.z_dim = z_dim
        maybe_spectral_norm(self, spec.spectral_norm)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        assert z.dim() == 2 and z.shape[1] == self.z_dim, f"expected z of shape (batch, {self.z_dim}), got {tuple(z.shape)}"
        return super().forward(z)


class DCGANDiscriminator(nn.Sequential):
    def __init__(self, spec: DCGANDiscriminatorSpec, *, image_shape: tuple[int, int, int], registry: Registry):
        channels, height, width = image_shape
        if (height, width) != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(f"the dcgan discriminator reads {IMAGE_SIDE}×{IMAGE_SIDE} images, not {height}×{width}")
        w = spec.width
        norm = lambda c: registry.create("norm", spec.norm, channels=c)  # noqa: E731
        act = lambda: nn.LeakyReLU(spec.leak)  # noqa: E731
        stages = [
            ("from_image", nn.Sequential(nn.Conv2d(channels, w, 3, padding=1), act())),
            *_attention_stages(spec, 28, w, registry),
            ("down14", nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), norm(2 * w), act())),
            *_attention_stages(spec, 14, 2 * w, registry),
            ("down7", nn.Sequential(nn.Conv2d(2 * w, 4 * w, 4, 2, 1), norm(4 * w), act())),
            *_attention_stages(spec, 7, 4 * w, registry),
            ("head", nn.Sequential(nn.Flatten(), nn.Linear(4 * w * 7 * 7, 1), nn.Flatten(0))),
        ]
        super().__init__(OrderedDict(stages))
        maybe_spectral_norm(self, spec.spectral_norm)


@hookimpl
def ganparts_register(registry):
    registry.register("generator", spec=DCGANGeneratorSpec, builder=DCGANGenerator)
    registry.register("discriminator", spec=DCGANDiscriminatorSpec, builder=DCGANDiscriminator)
