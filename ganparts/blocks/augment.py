"""Differentiable augmentation of D's inputs (DiffAugment, Zhao et al. 2020, arXiv:2006.10738).

On a few thousand training digits the discriminator memorises the real images. Augmenting
every image D sees — real and fake, in the D step and in the G step — with a transform that
is differentiable in the pixels hides the exact reals from D while G still gets gradients
through it.

An augment block is an ``nn.Module`` whose ``forward(images, strength=1.0)`` returns images of
the same shape, each one augmented on its own with probability ``p · strength`` (``strength``
is the adaptive multiplier of ADA, a float or a 0-dim tensor, so it can change on the device
without a host sync). Randomness comes from torch's default generator on the images' device,
which checkpoints save, so a resumed run draws the same augmentations.

Axis legend of the einops patterns: b batch · c channels · x rows · y columns.
"""

from __future__ import annotations

from typing import Literal

import torch
from einops import rearrange, repeat
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ganparts.hookspecs import hookimpl


class AugmentSpec(BaseModel):
    """Fields every augment block spec has: how often it applies."""

    model_config = ConfigDict(extra="forbid")
    p: float = Field(..., ge=0, le=1, description="probability that an image is augmented (times ADA's strength)")


def chosen(batch: int, probability: float | torch.Tensor, device: torch.device) -> torch.Tensor:
    """``(batch,)`` booleans, each true with ``probability`` (exactly none when it is 0).

    ``probability`` may be a 0-dim tensor on the device: comparing against it needs no host sync.
    """
    return torch.rand(batch, device=device) < probability


def translate(images: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, *, limit: int, fill: float = 0.0) -> torch.Tensor:
    """Shift image ``i`` down by ``rows[i]`` and right by ``cols[i]`` pixels, filling with ``fill``.

    Args:
        images: ``(b, c, x, y)``.
        rows, cols: ``(b,)`` integer shifts, each within ``[-limit, limit]``.
        limit: the largest shift, which sets the padding.
        fill: the value of uncovered pixels.

    One gather for the whole batch (no per-image loop); its backward scatters gradients back
    to the source pixels, so the shift is differentiable in the pixels.
    """
    b, c, height, width = images.shape
    padded = nn.functional.pad(images, (limit, limit, limit, limit), value=fill)
    # Output pixel (x, y) reads input pixel (x - row, y - col), i.e. padded (x - row + limit, ...).
    src_x = torch.arange(height, device=images.device) + limit - rows[:, None]  # b x
    src_y = torch.arange(width, device=images.device) + limit - cols[:, None]  # b y
    index = src_x[:, :, None] * (width + 2 * limit) + src_y[:, None, :]  # b x y, into the flattened padded map
    gathered = rearrange(padded, "b c x y -> b c (x y)").gather(2, repeat(index, "b x y -> b c (x y)", c=c))
    return rearrange(gathered, "b c (x y) -> b c x y", x=height)


class Translation(nn.Module):
    """Shift each chosen image by up to ``shift`` pixels in each direction (integer shifts)."""

    def __init__(self, *, p: float, shift: int, fill: float = -1.0) -> None:
        super().__init__()
        self.p, self.shift, self.fill = p, shift, fill

    def forward(self, images: torch.Tensor, strength: float | torch.Tensor = 1.0) -> torch.Tensor:
        b = images.shape[0]
        apply = chosen(b, self.p * strength, images.device)
        # Images not chosen get shift 0, which the gather copies unchanged: one path for the batch.
        shifts = torch.randint(-self.shift, self.shift + 1, (2, b), device=images.device) * apply
        return translate(images, shifts[0], shifts[1], limit=self.shift, fill=self.fill)

    def extra_repr(self) -> str:
        return f"p={self.p}, shift={self.shift}, fill={self.fill}"


class Cutout(nn.Module):
    """Fill a ``size``×``size`` square at a random place of each chosen image (clipped at the border)."""

    def __init__(self, *, p: float, size: int, fill: float = -1.0) -> None:
        super().__init__()
        self.p, self.size, self.fill = p, size, fill

    def forward(self, images: torch.Tensor, strength: float | torch.Tensor = 1.0) -> torch.Tensor:
        b, _, height, width = images.shape
        device = images.device
        apply = chosen(b, self.p * strength, device)
        # The square's first row/column, so that its centre is uniform over the image.
        top = torch.randint(0, height, (b, 1), device=device) - self.size // 2
        left = torch.randint(0, width, (b, 1), device=device) - self.size // 2
        x = torch.arange(height, device=device)
        y = torch.arange(width, device=device)
        in_rows = (x >= top) & (x < top + self.size)  # b x
        in_cols = (y >= left) & (y < left + self.size)  # b y
        hole = in_rows[:, :, None] & in_cols[:, None, :] & apply[:, None, None]  # b x y
        return images.masked_fill(hole[:, None], self.fill)

    def extra_repr(self) -> str:
        return f"p={self.p}, size={self.size}, fill={self.fill}"


# Images are in [-1, 1] and MNIST's background is black, -1: DiffAugment's zero fill would be
# a grey frame or square, a mark of augmentation no real digit has.
FILL = -1.0
FILL_HELP = "value of uncovered or blanked pixels (images are in [-1, 1]; -1 is MNIST's black background)"


class TranslationSpec(AugmentSpec):
    """Shift by up to `shift` pixels in each direction (DiffAugment's translation)."""

    kind: Literal["translation"] = "translation"
    # 2, not DiffAugment's 1/8 of the side (4 here): MNIST digits nearly fill their 28×28 frame,
    # and strong augmentation slowed early training in a probe (issue #12).
    shift: int = Field(2, ge=1, le=64, description="largest shift in pixels, each direction")
    fill: float = Field(FILL, ge=-1, le=1, description=FILL_HELP)


class CutoutSpec(AugmentSpec):
    """Blank a `size`×`size` square at a random place (DiffAugment's cutout)."""

    kind: Literal["cutout"] = "cutout"
    # 8, not DiffAugment's half the side (14 here), for the same reason as translation's shift.
    size: int = Field(8, ge=1, le=256, description="side of the blanked square in pixels")
    fill: float = Field(FILL, ge=-1, le=1, description=FILL_HELP)


@hookimpl
def ganparts_register(registry):
    # The builders take no context; extra keywords (future ones included) are ignored.
    registry.register("augment", spec=TranslationSpec, builder=lambda s, **_: Translation(p=s.p, shift=s.shift, fill=s.fill))
    registry.register("augment", spec=CutoutSpec, builder=lambda s, **_: Cutout(p=s.p, size=s.size, fill=s.fill))
