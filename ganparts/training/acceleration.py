"""Opt-in ways to run the same training faster: ``train.compile`` and ``train.precision``.

- ``compile: true`` wraps the networks in ``torch.compile`` (the first steps compile, later
  ones run fused kernels). Checkpoints and the EMA keep using the uncompiled modules.
- ``precision: bf16 | fp16`` runs forward passes under ``torch.autocast``; weights, optimiser
  state, losses and the EMA stay float32. fp16 also scales the losses (``GradScaler``) so
  small gradients do not flush to zero; bf16 has float32's range and needs no scaling.
  Both are meant for CUDA; on CPU they run (bf16 is fast where the CPU has AMX/AVX-512 BF16).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def maybe_compile(module: nn.Module, enabled: bool, mode: str = "default") -> nn.Module:
    """``torch.compile(module, mode=mode)`` when ``enabled``, else ``module`` itself.

    ``dynamic=False``: D sees two batch sizes (reals and fakes together in the D step, fakes
    alone in the G step); each gets a graph specialised to its shape, where dynamo would
    otherwise recompile for the second as a shape-generic graph.
    """
    return torch.compile(module, dynamic=False, mode=mode) if enabled else module


def autocast(device: torch.device, precision: str, *, cache: bool = True) -> contextlib.AbstractContextManager:
    """The autocast context for ``precision`` (a no-op for fp32); ``cache``: keep cast weights for the context's duration."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision], cache_enabled=cache)


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A loss scaler, active only for fp16 (disabled, its calls pass straight through)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
