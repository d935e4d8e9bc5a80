"""Feature normalisation blocks and the spectral-norm helper."""

from __future__ import annotations

import contextlib
import math
from typing import Iterator, Literal

import torch
from einops import rearrange
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.nn.utils.parametrizations import _SpectralNorm, spectral_norm

from ganparts.blocks.conditional import ClassConditional
from ganparts.hookspecs import hookimpl

_WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def maybe_spectral_norm(module: nn.Module, enabled: bool, *, layers: tuple[type[nn.Module], ...] = _WEIGHTED) -> nn.Module:
    """Spectrally normalise every conv and linear layer in ``module`` (itself included).

    Uses ``torch.nn.utils.parametrizations.spectral_norm``, so state-dict keys become
    ``…weight`` → ``…parametrizations.weight.original``. A no-op when not ``enabled``.
    ``layers``: the layer types to normalise. Embeddings are not among the defaults, since a
    conditional BatchNorm's gains must stay near 1; the projection head asks for its own.
    """
    if enabled:
        with _no_power_iterations_on_meta():
            for layer in list(module.modules()):
                if isinstance(layer, layers) and not hasattr(layer, "parametrizations"):
                    spectral_norm(layer)
    return module


@contextlib.contextmanager
def _no_power_iterations_on_meta() -> Iterator[None]:
    """Skip spectral norm's 15 initial power iterations for weights on the meta device.

    They only set the ``u``/``v`` buffers, which a shapes-only build (preflight, the memory
    estimate) never reads, yet on meta every op goes through Python kernels: ~0.25 s per
    layer, two thirds of ``ganparts validate``. Real weights are initialised as before.
    """
    original = _SpectralNorm._power_method

    def power_method(self, weight_mat: torch.Tensor, n_power_iterations: int) -> None:
        if not weight_mat.is_meta:
            original(self, weight_mat, n_power_iterations)

    _SpectralNorm._power_method = power_method
    try:
        yield
    finally:
        _SpectralNorm._power_method = original


class BatchNormSpec(BaseModel):
    """Batch normalisation (per-rank statistics under DDP)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["batch"] = "batch"
    momentum: float = Field(0.1, gt=0, le=1)


class InstanceNormSpec(BaseModel):
    """Instance normalisation with a learned affine."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["instance"] = "instance"


class GroupNormSpec(BaseModel):
    """Group normalisation; uses gcd(groups, channels) groups so any width works."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["group"] = "group"
    groups: int = Field(8, gt=0)


class NoNormSpec(BaseModel):
    """No normalisation (identity)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["none"] = "none"


class ConditionalBatchNormSpec(BaseModel):
    """Batch normalisation whose gain and bias are looked up by class (class-conditional generators)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["conditional_batch"] = "conditional_batch"
    momentum: float = Field(0.1, gt=0, le=1)


class ConditionalBatchNorm2d(ClassConditional):
    """BatchNorm2d without its own affine, then a per-class gain and bias (de Vries et al. 2017;
    BigGAN's ``ccbn``): the generator's way of drawing the class it is asked for.

    Gain and bias are rows of two class embeddings, initialised at 1 and 0, so every class
    starts as plain BatchNorm. With one class it *is* BatchNorm2d with its affine, and then
    no labels are needed; with more, ``forward`` needs them.
    """

    def __init__(self, channels: int, *, num_classes: int = 1, momentum: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False, momentum=momentum)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            if self.gain.num_embeddings > 1:
                raise ValueError(f"conditional BatchNorm over {self.gain.num_embeddings} classes needs the labels")
            gain, bias = self.gain.weight[0].view(-1, 1, 1), self.bias.weight[0].view(-1, 1, 1)
        else:
            gain, bias = (rearrange(table(labels), "b c -> b c 1 1") for table in (self.gain, self.bias))
        return torch.addcmul(bias, self.norm(x), gain)


def conditional_norm(norm: BaseModel) -> dict:
    """The class-conditional form of a generator's ``norm`` spec, for a conditional family to
    build with ``num_classes=``: ``batch`` becomes ``conditional_batch`` with its momentum.

    Raises:
        ValueError: the norm has no such form (the class would have nowhere to enter G).
    """
    if norm.kind == "conditional_batch":
        return norm.model_dump()
    if norm.kind == "batch":
        return {"kind": "conditional_batch", "momentum": norm.momentum}
    raise ValueError(
        f"norm {norm.kind!r} has no class-conditional form; with model.num_classes above 0 the generator "
        "takes the class through conditional BatchNorm: use norm batch or conditional_batch"
    )


@hookimpl
def ganparts_register(registry):
    registry.register("norm", spec=BatchNormSpec, builder=lambda s, *, channels: nn.BatchNorm2d(channels, momentum=s.momentum))
    registry.register("norm", spec=InstanceNormSpec, builder=lambda s, *, channels: nn.InstanceNorm2d(channels, affine=True))
    registry.register("norm", spec=GroupNormSpec, builder=lambda s, *, channels: nn.GroupNorm(math.gcd(s.groups, channels), channels))
    registry.register("norm", spec=NoNormSpec, builder=lambda s, *, channels: nn.Identity())
    registry.register(
        "norm",
        spec=ConditionalBatchNormSpec,
        builder=lambda s, *, channels, num_classes=1: ConditionalBatchNorm2d(channels, num_classes=num_classes, momentum=s.momentum),
    )
