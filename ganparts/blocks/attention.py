"""Self-attention blocks for feature maps (SAGAN, Zhang et al. 2018, arXiv:1805.08318).

Axis legend used in the einops patterns below:
    b batch · h heads · x, y spatial · n query positions (x·y) · m key positions
    d query/key channels per head · e value channels per head
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Literal

import torch
import torch.nn.functional as F
from einops import einsum, rearrange
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ganparts.hookspecs import hookimpl


class AttentionSpec(BaseModel):
    """Fields every attention block spec has: where in the network it sits."""

    model_config = ConfigDict(extra="forbid")
    resolution: int = Field(gt=0, description="side length of the feature map the block is inserted at")


class Attend(nn.Module):
    """softmax(q kᵀ · scale) v over the last two axes, q/k/v shaped ``b h n d`` / ``b h m d`` / ``b h m e``.

    SAGAN uses unscaled logits, hence ``scale=1``. Without ``return_map`` this calls
    ``scaled_dot_product_attention``, which need not materialise the n×m map.
    """

    def __init__(self, *, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, q, k, v, *, return_map: bool = False):
        if not return_map:
            return F.scaled_dot_product_attention(q, k, v, scale=self.scale), None
        logits = einsum(q, k, "b h n d, b h m d -> b h n m") * self.scale
        attn = logits.softmax(dim=-1)
        return einsum(attn, v, "b h n m, b h m e -> b h n e"), attn


class AttentionBlock(nn.Module):
    """Base of residual attention blocks: ``x + gamma · attention(x)``, gamma starting at 0.

    Set ``record_attention = True`` (or use :func:`recording_attention`) and the next
    forward keeps its map in ``attention_map`` (``b h n m``, detached), with the key
    grid in ``key_grid`` — no second forward pass is needed for visualisation.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(()))
        self.record_attention = False
        self.attention_map: torch.Tensor | None = None
        self.key_grid: tuple[int, int] | None = None

    def _keep(self, attn: torch.Tensor | None, key_grid: tuple[int, int]) -> None:
        if attn is not None:
            self.attention_map = attn.detach()
            self.key_grid = key_grid


class SelfAttention2d(AttentionBlock):
    """Paper-form SAGAN attention: 1×1 convs to query/key (C/8) and value (C), full n×n map."""

    def __init__(self, *, channels: int, heads: int = 1, key_ratio: int = 8) -> None:
        super().__init__()
        inner = channels // key_ratio
        _check_split(channels=channels, inner=inner, value=channels, heads=heads)
        self.heads = heads
        self.query = nn.Conv2d(channels, inner, 1, bias=False)
        self.key = nn.Conv2d(channels, inner, 1, bias=False)
        self.value = nn.Conv2d(channels, channels, 1, bias=False)
        self.attend = Attend()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        side = x.shape[-2]
        q, k, v = (rearrange(t, "b (h d) x y -> b h (x y) d", h=self.heads) for t in (self.query(x), self.key(x), self.value(x)))
        out, attn = self.attend(q, k, v, return_map=self.record_attention)
        self._keep(attn, (side, x.shape[-1]))
        return x + self.gamma * rearrange(out, "b h (x y) e -> b (h e) x y", x=side)


class PooledSelfAttention2d(AttentionBlock):
    """The official SAGAN/BigGAN release's form: keys and values 2×2 max-pooled
    (m = n/4), values with C/2 channels, and a 1×1 output conv back to C."""

    def __init__(self, *, channels: int, heads: int = 1, key_ratio: int = 8) -> None:
        super().__init__()
        inner = channels // key_ratio
        _check_split(channels=channels, inner=inner, value=channels // 2, heads=heads)
        self.heads = heads
        self.query = nn.Conv2d(channels, inner, 1, bias=False)
        self.key = nn.Conv2d(channels, inner, 1, bias=False)
        self.value = nn.Conv2d(channels, channels // 2, 1, bias=False)
        self.out = nn.Conv2d(channels // 2, channels, 1, bias=False)
        # ceil_mode keeps the last row/column of odd maps (7×7 → 4×4) instead of dropping it.
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.attend = Attend()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        side = x.shape[-2]
        q = rearrange(self.query(x), "b (h d) x y -> b h (x y) d", h=self.heads)
        key, value = self.pool(self.key(x)), self.pool(self.value(x))
        k = rearrange(key, "b (h d) x y -> b h (x y) d", h=self.heads)
        v = rearrange(value, "b (h e) x y -> b h (x y) e", h=self.heads)
        out, attn = self.attend(q, k, v, return_map=self.record_attention)
        self._keep(attn, tuple(key.shape[-2:]))
        return x + self.gamma * self.out(rearrange(out, "b h (x y) e -> b (h e) x y", x=side))


def _check_split(*, channels: int, inner: int, value: int, heads: int) -> None:
    if inner < heads or inner % heads or value % heads:
        raise ValueError(
            f"attention at {channels} channels: query/key channels ({inner}) and value channels ({value}) "
            f"must be positive multiples of heads ({heads}); widen the network or use fewer heads"
        )


@contextlib.contextmanager
def recording_attention(model: nn.Module) -> Iterator[dict[str, AttentionBlock]]:
    """Within the block, every attention layer of ``model`` keeps its map on forward.

    Yields ``{qualified layer name: block}``; read ``block.attention_map`` after a forward.
    """
    blocks = attention_blocks(model)
    for block in blocks.values():
        block.record_attention = True
    try:
        yield blocks
    finally:
        for block in blocks.values():
            block.record_attention = False


def attention_blocks(model: nn.Module) -> dict[str, AttentionBlock]:
    """Every attention layer of ``model`` by qualified name, in forward order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, AttentionBlock)}


class SaganSpec(AttentionSpec):
    """SAGAN self-attention, paper form (full n×n map, value with C channels)."""

    kind: Literal["sagan"] = "sagan"
    heads: int = Field(1, gt=0)
    key_ratio: int = Field(8, gt=0, description="query/key channels = C // key_ratio")


class SaganPooledSpec(AttentionSpec):
    """SAGAN self-attention, official-release form (pooled keys/values, C/2 value, output conv)."""

    kind: Literal["sagan_pooled"] = "sagan_pooled"
    heads: int = Field(1, gt=0)
    key_ratio: int = Field(8, gt=0, description="query/key channels = C // key_ratio")


@hookimpl
def ganparts_register(registry):
    registry.register(
        "attention",
        spec=SaganSpec,
        builder=lambda s, *, channels: SelfAttention2d(channels=channels, heads=s.heads, key_ratio=s.key_ratio),
    )
    registry.register(
        "attention",
        spec=SaganPooledSpec,
        builder=lambda s, *, channels: PooledSelfAttention2d(channels=channels, heads=s.heads, key_ratio=s.key_ratio),
    )
