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
import shutil

import torch
from torch import nn

from ganparts.errors import SpecError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check(*, compile: bool, precision: str, device: torch.device, has_penalties: bool) -> None:
    """Refuse combinations that would fail later, mid-run, with a SpecError naming the field."""
    if precision == "fp16" and has_penalties:
        raise SpecError([(
            "train.precision",
            "fp16 needs gradient scaling, which the gradient penalty's inner gradient does not get here; use bf16 or fp32",
        )])
    if compile and device.type == "cpu" and not any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++")):
        raise SpecError([("train.compile", "torch.compile on CPU needs a C++ compiler (g++ or clang++) on PATH; none found")])


def maybe_compile(module: nn.Module, enabled: bool) -> nn.Module:
    """``torch.compile(module)`` when ``enabled``, else ``module`` itself."""
    return torch.compile(module) if enabled else module


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision])


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A loss scaler, active only for fp16 (disabled, its calls pass straight through)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
