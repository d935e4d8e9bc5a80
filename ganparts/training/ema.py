"""Exponential moving average of a network's weights (the generator used for samples)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``shadow``, an eval-mode copy of ``model`` whose parameters trail the model's.

    The effective decay warms up as ``min(decay, (1 + t) / (10 + t))`` so that short runs
    are not dominated by their random initialisation. Buffers (BatchNorm statistics,
    spectral-norm vectors) are copied, not averaged.
    """

    def __init__(self, model: nn.Module, *, decay: float) -> None:
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)
        self._shadow_params, self._live_params = list(self.shadow.parameters()), list(model.parameters())
        self._shadow_buffers, self._live_buffers = list(self.shadow.buffers()), list(model.buffers())

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the shadow towards the model after optimiser step number ``step`` (1-based)."""
        decay = min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_(self._shadow_params, self._live_params, 1.0 - decay)
        if self._shadow_buffers:  # a generator without BatchNorm or spectral norm has none, and foreach refuses empty lists
            torch._foreach_copy_(self._shadow_buffers, self._live_buffers)
