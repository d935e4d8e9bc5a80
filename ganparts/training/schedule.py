"""``optim.lr_decay``: the learning rates over a run, a function of how much of it is done.

``linear`` lowers both rates in a straight line to 0 at the end of the run, as SNGAN did,
from ``optim.lr_decay_start`` (a fraction of the run) on. It is an option, not the default:
at the 10-minute horizon the constant rate ended better for both specs, and over a short run
a decay costs more than it gains (docs/results.md, "Tuning, round three" and "round four"). The end is ``train.steps``, so the rate depends only on
the step and a resumed run continues the schedule with nothing checkpointed (resuming with
more ``train.steps`` stretches it); a run that a time budget ends follows the budget instead
(:class:`~ganparts.training.callbacks.TimeBudget`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

def lr_factor(schedule: str, progress: float, start: float = 0.0) -> float:
    """The fraction of its base rate an optimiser uses once ``progress`` (0 to 1) of the run is
    done, the decay beginning at progress ``start``. ``schedule`` is the spec's ``optim.lr_decay``
    (validated there): ``none``, or ``linear``, the one decay."""
    if schedule == "none" or progress <= start:
        return 1.0
    return max(0.0, (1.0 - progress) / (1.0 - start))


class LearningRates:
    """Sets each optimiser's rate to its base rate times :func:`lr_factor` before an update.

    The rate is a Python float in ``param_groups``: nothing moves to or from the device."""

    def __init__(self, optimizers: Sequence[torch.optim.Optimizer], *, schedule: str, start: float, steps: int) -> None:
        self.optimizers, self.schedule, self.start = optimizers, schedule, start
        self.base = [[group["lr"] for group in opt.param_groups] for opt in optimizers]
        self.progress: Callable[[int], float] = lambda step: step / steps

    def follow(self, progress: Callable[[], float]) -> None:
        """Measure the run's progress by ``progress()`` (0 to 1) instead of steps out of ``train.steps``."""
        self.progress = lambda step: progress()

    def set(self, step: int) -> None:
        """Rates for the update that follows ``step`` completed updates."""
        if self.schedule == "none":
            return
        factor = lr_factor(self.schedule, self.progress(step), self.start)
        for opt, bases in zip(self.optimizers, self.base):
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = base * factor
