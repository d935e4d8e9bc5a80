"""Adam as the Trainer builds it, and a checkpoint's Adam state loaded into it.

``fused=True`` updates all of an optimiser's parameters in one kernel per group instead of
several launches per tensor (CUDA), or one parallel loop instead of a Python loop over the
tensors (CPU). On 2 CPU cores the update of the default SAGAN's G and D took 1.4–2.1 ms fused
against 10–12 ms with torch's CPU default (docs/performance.md, "On a GPU"), so it is used on
both. Fused Adam keeps its step counts on the parameters' device, so updates need no host
sync; the default CPU implementation keeps them on the host.

A checkpoint records its optimiser's implementation flags in ``param_groups``;
:func:`load_state` replaces them by this optimiser's, so a checkpoint written with either
implementation resumes with the one this device uses (the moments are the same numbers).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

# Devices with a fused Adam kernel that the trainer uses; elsewhere torch picks its default.
FUSED_DEVICES = ("cuda", "cpu")
# param_groups entries that choose an implementation, not a hyper-parameter.
IMPLEMENTATION_KEYS = ("foreach", "fused", "capturable")


def adam(params: Iterable[torch.nn.Parameter], *, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """``torch.optim.Adam``, fused on :data:`FUSED_DEVICES`; on CUDA also ``capturable`` (safe
    inside a CUDA graph, ``train.cuda_graph``; the fused kernel computes the same update either way)."""
    fused = True if device.type in FUSED_DEVICES else None
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=fused, capturable=device.type == "cuda")


def load_state(optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """``optimizer.load_state_dict(saved)`` keeping ``optimizer``'s own implementation: torch
    would take fused/foreach from ``saved`` and place the step counts to suit it."""
    groups = [
        saved_group | {key: own[key] for key in IMPLEMENTATION_KEYS if key in own}
        for saved_group, own in zip(saved["param_groups"], optimizer.param_groups)
    ]
    optimizer.load_state_dict({**saved, "param_groups": groups})
