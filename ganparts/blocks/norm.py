"""Feature normalisation blocks and the spectral-norm helper."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganparts.hookspecs import hookimpl

_WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectrally normalise every conv and linear layer in ``module`` (itself included).

    Uses ``torch.nn.utils.parametrizations.spectral_norm``, so state-dict keys become
    ``…weight`` → ``…parametrizations.weight.original``. A no-op when not ``enabled``.
    """
    if enabled:
        for layer in list(module.modules()):
            if isinstance(layer, _WEIGHTED) and not hasattr(layer, "parametrizations"):
                spectral_norm(layer)
    return module


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


@hookimpl
def ganparts_register(registry):
    registry.register("norm", spec=BatchNormSpec, builder=lambda s, *, channels: nn.BatchNorm2d(channels, momentum=s.momentum))
    registry.register("norm", spec=InstanceNormSpec, builder=lambda s, *, channels: nn.InstanceNorm2d(channels, affine=True))
    registry.register("norm", spec=GroupNormSpec, builder=lambda s, *, channels: nn.GroupNorm(math.gcd(s.groups, channels), channels))
    registry.register("norm", spec=NoNormSpec, builder=lambda s, *, channels: nn.Identity())
