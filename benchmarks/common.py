"""What the benchmark sections share: the specs they train, the data, a timed training loop."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Callable

from ganparts.data.images import ImageSet
from ganparts.data.sources import load_images
from ganparts.spec.files import load_spec
from ganparts.spec.experiment import Experiment
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry

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
    return load_images("mnist-5k", registry=default_registry())


def spec(attention: str = "sagan", *overrides: str) -> Experiment:
    """The default SAGAN spec on mnist-5k, with ``attention`` (a key of ATTENTION) in G and D."""
    blocks = ATTENTION[attention]
    return load_spec(DEFAULT_SPEC, ["data.source=mnist-5k", f"model.generator.attention={blocks}", f"model.discriminator.attention={blocks}", *overrides], registry=default_registry())


def with_steps(spec: Experiment, steps: int) -> Experiment:
    """A copy of ``spec`` that trains to ``steps`` (``spec`` itself is frozen)."""
    return spec.model_copy(update={"train": spec.train.model_copy(update={"steps": steps})})


def timed_fit(trainer: Trainer, steps: int) -> Callable[[], float]:
    """A callable that runs ``steps`` more steps of ``trainer.fit()`` — the real loop with its
    batch sampling, logging and EMA, no run directory — and returns seconds per step."""

    def run() -> float:
        # The spec is frozen: fit() trains to the step count of a copy, as a resume with --set would.
        trainer.spec = with_steps(trainer.spec, trainer.step + steps)
        start = time.perf_counter()
        trainer.fit()
        return (time.perf_counter() - start) / steps

    return run


def flops_per_step(trainer: Trainer) -> int:
    """FLOPs of one training step as torch's FlopCounterMode counts them (matmuls, convolutions,
    attention; forward and backward — elementwise work is not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        trainer.train_step(trainer.sample_real())
    return counter.get_total_flops()
