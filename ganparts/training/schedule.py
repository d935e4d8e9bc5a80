"""``optim.lr_decay``: the learning rates over a run, a function of the step alone.

A rate that is right for the first minutes is too high later: at a constant 1.6e-3 the
baseline's FID went from 32 at step 5,000 to 88 at step 12,000 (docs/results.md, "Where the
issue's targets stand"). ``linear`` lowers both rates in a straight line to 0 at
``train.steps``, as SNGAN did. The rate depends only on the step, so a resumed run continues
the same schedule with nothing checkpointed; resuming with more ``train.steps`` stretches it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

SCHEDULES = ("none", "linear")


def lr_factor(schedule: str, step: int, steps: int) -> float:
    """The fraction of its base rate an optimiser uses for update number ``step + 1`` of ``steps``."""
    if schedule == "none":
        return 1.0
    if schedule == "linear":
        return max(0.0, 1.0 - step / steps)
    raise ValueError(f"unknown optim.lr_decay {schedule!r}; choose from {', '.join(SCHEDULES)}")


class LearningRates:
    """Sets each optimiser's rate to its base rate times :func:`lr_factor` before a step.

    The rate is a Python float in ``param_groups``: nothing moves to or from the device."""

    def __init__(self, optimizers: Sequence[torch.optim.Optimizer], *, schedule: str, steps: int) -> None:
        self.schedule, self.steps = schedule, steps
        self.base = [[group["lr"] for group in opt.param_groups] for opt in optimizers]
        self.optimizers = optimizers

    def set(self, step: int) -> None:
        """Rates for the update that follows ``step`` completed updates."""
        factor = lr_factor(self.schedule, step, self.steps)
        for opt, bases in zip(self.optimizers, self.base):
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = base * factor
