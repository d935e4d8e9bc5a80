"""Images in memory, and the geometry every dataset declares.

A dataset is a registry entry (kind ``dataset``) whose spec subclasses :class:`DatasetSpec`:
its ``image_shape`` is where networks, metrics and pictures learn the size of an image, so a
32×32 or three-channel source is one new entry, not a hunt for the number 28.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict

from ganparts.spec.registry import Registry


class DatasetSpec(BaseModel):
    """Base of dataset specs: ``image_shape`` (channels, height, width) of every image it yields,
    and ``num_classes``: its labels are classes 0 … num_classes − 1 (0: they are not classes a
    conditional model can be asked for)."""

    model_config = ConfigDict(extra="forbid")
    image_shape: ClassVar[tuple[int, int, int]] = (1, 28, 28)
    num_classes: ClassVar[int] = 0


def image_shape(source: str, registry: Registry) -> tuple[int, int, int]:
    """(channels, height, width) of the images of registered dataset ``source``."""
    return registry.get("dataset", source).spec.image_shape


def num_classes(source: str, registry: Registry) -> int:
    """How many classes the labels of registered dataset ``source`` hold (0: none to condition on)."""
    return getattr(registry.get("dataset", source).spec, "num_classes", 0)


@dataclass(frozen=True)
class ImageSet:
    """Images (N, C, H, W) as uint8 and integer labels (N,), plus the source they came from."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def first_classes(self, n: int) -> ImageSet:
        """The images whose label is below ``n``: what a model conditioned on ``n`` classes trains on."""
        keep = self.labels < n
        return self if bool(keep.all()) else ImageSet(self.images[keep], self.labels[keep], self.source)

    def to_float(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Images scaled to [-1, 1] as float32 and labels, both on ``device``."""
        images = self.images.to(device).float().div_(127.5).sub_(1.0)
        return images, self.labels.to(device)
