"""Self-attention blocks for feature maps (SAGAN, Zhang et al. 2018, arXiv:1805.08318).

Axis legend used in the einops patterns below:
    b batch · h heads · x, y spatial · n query positions (x·y) · m key positions
    d query/key channels per head · e value channels per head
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from einops import rearrange
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ganparts.blocks.attend import Attend, project, stacked_projection
from ganparts.hookspecs import hookimpl


class AttentionSpec(BaseModel):
    """Fields every attention block spec has: where in the network it sits."""

    model_config = ConfigDict(extra="forbid")
    resolution: int = Field(gt=0, description="side length of the feature map the block is inserted at")


@dataclass(frozen=True, eq=False)  # eq would compare tensors elementwise
class AttentionMap:
    """One attention layer's map from one forward pass.

    ``map`` is ``b h n m`` (detached; each query's row sums to one) and ``key_grid`` the
    ``(rows, cols)`` grid its m keys lie on (the feature map's, or a pooled one's).
    """

    map: torch.Tensor
    key_grid: tuple[int, int]

    @property
    def heads(self) -> int:
        return self.map.shape[1]


class AttentionRecording(Mapping[str, AttentionMap]):
    """The maps one :func:`record_attention` collected: ``{qualified layer name: AttentionMap}``.

    Layers appear in the order they first ran; a layer that runs again inside the same
    recording replaces its map with the newer one. The caller owns it: forwards outside its
    ``with`` (later, or in other threads) never write to it.
    """

    def __init__(self, model: nn.Module) -> None:
        # Blocks are looked up by identity (nn.Module hashes by id); dropped on exit so a kept
        # recording does not keep the model alive.
        self._names: dict[nn.Module, str] = {block: name for name, block in attention_blocks(model).items()}
        self._maps: dict[str, AttentionMap] = {}

    def _records(self, block: nn.Module) -> bool:
        return block in self._names

    def _add(self, block: nn.Module, attn: torch.Tensor, key_grid: tuple[int, int]) -> None:
        name = self._names.get(block)
        if name is not None:
            self._maps[name] = AttentionMap(attn, key_grid)

    def _close(self) -> None:
        self._names = {}

    def __getitem__(self, name: str) -> AttentionMap:
        return self._maps[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._maps)

    def __len__(self) -> int:
        return len(self._maps)

    def __repr__(self) -> str:
        return f"AttentionRecording({', '.join(f'{k}: {tuple(v.map.shape)}' for k, v in self._maps.items())})"


# The recordings active in the current context (thread or task), innermost last. A ContextVar,
# not a flag on the blocks: a network is shared between threads (the app caches one per
# checkpoint), and a forward in a thread that is not recording must neither compute a map nor
# overwrite the one a recording thread is about to read.
_RECORDINGS: contextvars.ContextVar[tuple[AttentionRecording, ...]] = contextvars.ContextVar(
    "ganparts_attention_recordings", default=()
)


class AttentionBlock(nn.Module):
    """Base of residual attention blocks: ``x + gamma · attention(x)``, gamma starting at 0.

    For attention pictures a block's forward checks :attr:`recording` and, when it is true,
    computes its map and hands it to :meth:`keep_map`; otherwise it takes its fastest path
    and never forms the map::

        recording = self.recording
        out, attn = self.attend(q, k, v, return_map=recording)
        if recording:
            self.keep_map(attn, key_grid)

    Callers collect the maps with :func:`record_attention`, which returns them to the caller;
    nothing is stored on the block.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(()))

    @property
    def recording(self) -> bool:
        """True when a :func:`record_attention` active in the current thread/context covers this block."""
        active = _RECORDINGS.get()
        return bool(active) and any(recording._records(self) for recording in active)

    def keep_map(self, attn: torch.Tensor, key_grid: tuple[int, int]) -> None:
        """Hand this forward's map to the recordings of this block active in the current context.

        Args:
            attn: ``b h n m``, n query positions, m key positions, each row summing to one.
            key_grid: ``(rows, cols)`` of the m keys, ``rows · cols == m``.

        A no-op when nothing records this block. The map is detached, so keeping it holds no graph.
        """
        rows, cols = (int(side) for side in key_grid)
        if attn.ndim != 4 or attn.shape[-1] != rows * cols:
            raise ValueError(
                f"{type(self).__name__}.keep_map: expected a (b, heads, n, m) map with m = {rows}·{cols} keys, "
                f"got shape {tuple(attn.shape)}"
            )
        attn = attn.detach()
        for recording in _RECORDINGS.get():
            recording._add(self, attn, (rows, cols))


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
        q, k, v = (rearrange(t, "b (h d) x y -> b h (x y) d", h=self.heads) for t in project(x, self.query, self.key, self.value))
        recording = self.recording
        out, attn = self.attend(q, k, v, return_map=recording)
        if recording:
            self.keep_map(attn, (side, x.shape[-1]))
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
        query, key_value = stacked_projection(x, self.query, self.key, self.value).split(
            [self.query.out_channels, self.key.out_channels + self.value.out_channels], dim=1
        )
        key, value = self.pool(key_value).split([self.key.out_channels, self.value.out_channels], dim=1)  # one pooling, not two
        q = rearrange(query, "b (h d) x y -> b h (x y) d", h=self.heads)
        k = rearrange(key, "b (h d) x y -> b h (x y) d", h=self.heads)
        v = rearrange(value, "b (h e) x y -> b h (x y) e", h=self.heads)
        recording = self.recording
        out, attn = self.attend(q, k, v, return_map=recording)
        if recording:
            self.keep_map(attn, tuple(key.shape[-2:]))
        (projected,) = project(rearrange(out, "b h (x y) e -> b (h e) x y", x=side), self.out)
        return x + self.gamma * projected


def _check_split(*, channels: int, inner: int, value: int, heads: int) -> None:
    if inner < heads or inner % heads or value % heads:
        raise ValueError(
            f"attention at {channels} channels: query/key channels ({inner}) and value channels ({value}) "
            f"must be positive multiples of heads ({heads}); widen the network or use fewer heads"
        )


@contextlib.contextmanager
def record_attention(model: nn.Module) -> Iterator[AttentionRecording]:
    """Record the map of every attention layer of ``model`` in forwards run inside the ``with``.

    Only forwards in this thread (this context) are recorded; the same model running in
    another thread meanwhile takes its plain path and writes nothing here. Recordings nest:
    each one gets the maps of the layers it covers::

        with torch.no_grad(), record_attention(generator) as maps:
            images = generator(z)
        maps["attn14"].map  # b h n m

    Yields an :class:`AttentionRecording`, which keeps its maps after the ``with``.
    """
    recording = AttentionRecording(model)
    token = _RECORDINGS.set((*_RECORDINGS.get(), recording))
    try:
        yield recording
    finally:
        _RECORDINGS.reset(token)
        recording._close()


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
