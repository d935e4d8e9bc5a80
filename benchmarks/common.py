"""What the benchmark sections share: the specs they train, the data, a timed training loop."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Callable

from ganparts.data.sources import ImageSet, load_images
from ganparts.spec.files import load_spec
from ganparts.spec.experiment import Experiment
from ganparts.training.trainer import Trainer

SPECS = Path(__file__).resolve().parents[1] / "specs"
DEFAULT_SPEC = SPECS / "sagan_mnist.yaml"
# The three networks the tables compare; everything but attention is the default spec's.
ATTENTION = {
    "baseline": "[]",
    "sagan": "[{kind: sagan, resolution: 14}]",
    "sagan_pooled": "[{kind: sagan_pooled, resolution: 14}]",
}


@functools.cache
def mnist5k() -> ImageSet:
    """The offline training digits (every table trains on the same data)."""
    return load_images("mnist-5k")


def spec(attention: str = "sagan", *overrides: str) -> Experiment:
    """The default SAGAN spec on mnist-5k, with ``attention`` (a key of ATTENTION) in G and D."""
    blocks = ATTENTION[attention]
    return load_spec(DEFAULT_SPEC, ["data.source=mnist-5k", f"model.generator.attention={blocks}", f"model.discriminator.attention={blocks}", *overrides])


def timed_fit(trainer: Trainer, steps: int) -> Callable[[], float]:
    """A callable that runs ``steps`` more steps of ``trainer.fit()`` — the real loop with its
    batch sampling, logging and EMA, no run directory — and returns seconds per step."""

    def run() -> float:
        trainer.spec.train.steps = trainer.step + steps
        start = time.perf_counter()
        trainer.fit()
        return (time.perf_counter() - start) / steps

    return run


def flops_per_step(trainer: Trainer) -> int:
    """FLOPs of one training step as torch's FlopCounterMode counts them (matmuls, convolutions,
    attention; forward and backward — elementwise work is not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        trainer.train_step(*trainer.sample_real())
    return counter.get_total_flops()
