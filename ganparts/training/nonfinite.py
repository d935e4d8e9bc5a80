"""Non-finite losses and weights: stop naming the step, or skip the bad update.

``train.on_nonfinite: stop`` (the default) adds no host sync to a training step: the
losses reach the host anyway at each log flush, and that is where a NaN or Inf is found
(and, since every checkpoint flushes the log first, before any checkpoint could hold
it); every tensor a checkpoint would hold is checked before it is written. The run stops
with the first bad step named, and the last good checkpoint is left as it was.

``train.on_nonfinite: skip`` must decide before each optimiser update whether to apply
it, so it costs one host sync per update: an update whose loss or gradients are not
finite is not applied (weights and Adam moments stay as they were), like
``torch.amp.GradScaler`` skips steps with Inf gradients. Each step logs how many of its
updates were skipped; a long run of skipped steps means the run cannot recover, and stops.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch

from ganparts.runs import checkpoints as ckpt
from ganparts.errors import UserError

# Skipping is for isolated spikes. Steps that all fail this many times in a row mean
# the weights or the data are broken, and going on would only burn time.
MAX_SKIPPED_IN_A_ROW = 50
NOT_A_METRIC = ("step", "step_time", "skipped")
# A checkpoint's key prefixes (ganparts.training.state), as an error names them.
CHECKPOINT_PARTS = {
    "generator": "generator's weights", "generator_ema": "EMA generator's weights", "discriminator": "discriminator's weights",
    "optim_g": "generator optimiser's moments", "optim_d": "discriminator optimiser's moments",
}


class NonFiniteError(UserError):
    """Training produced a NaN or Inf loss or weight."""


class NonFiniteGuard:
    """The trainer's check on NaN and Inf.

    Args:
        mode: ``stop`` or ``skip`` (``train.on_nonfinite``).
        run_dir: the run whose last good checkpoint an error names (None: in memory).
    """

    def __init__(self, *, mode: Literal["stop", "skip"], run_dir: Path | None) -> None:
        self.mode = mode
        self.run_dir = run_dir
        self.skipped = 0  # updates skipped in the current step
        self.skipped_in_a_row = 0  # steps with a skipped update, up to the last flushed row

    def step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, apply: Callable[[], Any]) -> None:
        """``apply()`` — the update of ``optimizer``'s parameters, through a loss scaler or not —
        unless skip mode finds the loss or one of ``optimizer``'s gradients non-finite."""
        if self.mode == "stop":
            apply()
            return
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        finite = torch.stack([loss.detach().isfinite().all(), *(g.isfinite().all() for g in grads)]).all()
        if finite.item():  # the one host sync per update that skipping costs
            apply()
        else:
            self.skipped += 1

    def step_logs(self, device: torch.device) -> dict[str, torch.Tensor]:
        """Skip mode: ``{"skipped": n}``, the updates this step skipped (then counts afresh)."""
        if self.mode == "stop":
            return {}
        skipped, self.skipped = self.skipped, 0
        return {"skipped": torch.tensor(float(skipped), device=device)}

    def check_rows(self, rows: list[dict[str, Any]]) -> None:
        """Raise :class:`NonFiniteError` at the first flushed row with a NaN or Inf
        (skip mode: with a non-finite value in an update it did apply, or too many skipped steps in a row)."""
        for row in rows:
            if row.get("skipped"):
                self.skipped_in_a_row += 1
                if self.skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
                    raise self.error(row["step"], f"every step from {row['step'] - MAX_SKIPPED_IN_A_ROW + 1} on had a non-finite loss or gradient", skipping=True)
                continue
            self.skipped_in_a_row = 0
            bad = [key for key, value in row.items() if key not in NOT_A_METRIC and isinstance(value, float) and not math.isfinite(value)]
            if bad:
                raise self.error(row["step"], f"{bad[0]} is {row[bad[0]]}")

    def check_checkpoint(self, tensors: dict[str, torch.Tensor], step: int) -> None:
        """Raise :class:`NonFiniteError` if a floating tensor of a checkpoint about to be written
        (weights, buffers, optimiser moments: ``training.state``'s keys) is NaN or Inf. Adam's
        second moment can overflow while the weights are still finite, so the weights alone do not say."""
        floating = {key: t for key, t in tensors.items() if t.is_floating_point()}
        # .cpu(): the tensors may sit on different devices (Adam's step count on the host); the
        # checkpoint copies them all to the host next anyway.
        finite = torch.stack([t.isfinite().all().cpu() for t in floating.values()]).tolist()
        broken = dict.fromkeys(key.split(".")[0] for key, ok in zip(floating, finite) if not ok)
        if broken:
            raise self.error(step, " and ".join(f"the {CHECKPOINT_PARTS.get(part, part)}" for part in broken) + " are not finite")

    def error(self, step: int, what: str, *, skipping: bool = False) -> NonFiniteError:
        found = ckpt.list_checkpoints(self.run_dir) if self.run_dir else []
        kept = f"the last good checkpoint, {found[-1].name}, is kept" if found else "no checkpoint was written before it"
        remedy = (
            "skipping cannot recover this run; lower optim.g_lr / optim.d_lr"
            if skipping or self.mode == "skip" else
            "lower optim.g_lr / optim.d_lr, or resume with --set train.on_nonfinite=skip to skip such updates"
        )
        return NonFiniteError(f"training diverged at step {step}: {what};\n{kept}; {remedy}")

