"""Metrics while training (``train.eval_every``), logged with the step and training wall-clock time.

Rows go to ``RUN/eval.jsonl`` (and stay in ``rows``). ``train_s`` is wall-clock time spent
training, with the time spent evaluating taken out, so runs of different models can be
compared at equal time. Evaluation happens at the log flush (``train.log_every``) holding
a multiple of ``eval_every``, so it lands exactly on the multiple when ``log_every`` divides it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import torch

from ganparts.training.callbacks import Callback
from ganparts.metrics.collapse import FID_ABOVE_MEDIAN, IS_BELOW, looks_collapsed, lost_classes
from ganparts.metrics.evaluate import DEFAULT_FEATURE, RealReference, evaluate_generator, load_extractor, real_reference

if TYPE_CHECKING:
    from ganparts.training.trainer import Trainer

log = logging.getLogger("ganparts")


class PeriodicEval(Callback):
    """Every ``every`` steps and at the end: all metrics of the EMA generator on ``n`` images.

    Args:
        every: evaluate when a flushed step is a multiple of this (0: only at the end); the
            row records the step actually reached.
        n: generated images per evaluation.
        seed: latent noise seed (the same images are scored each time).
        feature: registered feature extractor.
        references: real-data references by (feature, source, device), shared between runs
            of one process so that each is featurised once.
    """

    def __init__(
        self, *, every: int, n: int = 5000, seed: int = 0, feature: str = DEFAULT_FEATURE, references: dict | None = None
    ) -> None:
        self.every, self.n, self.seed, self.feature = every, n, seed, feature
        self.references = {} if references is None else references
        self.rows: list[dict[str, Any]] = []

    def on_train_start(self, trainer: Trainer) -> None:
        self.reference = self._reference(trainer)
        if trainer.run:  # a resumed run drops rows past its checkpoint, like metrics.jsonl
            trainer.run.truncate_evaluations(trainer.step)
        self.rows = trainer.run.read_evaluations() if trainer.run else []
        self.eval_seconds = 0.0
        self.offset = _resumed_train_seconds(trainer, self.rows)
        self.start = time.perf_counter()

    def train_seconds(self) -> float:
        """Wall-clock seconds spent training so far (resumed runs included), evaluation excluded."""
        return self.offset + time.perf_counter() - self.start - self.eval_seconds

    def on_log(self, trainer: Trainer, rows: list[dict[str, Any]]) -> None:
        if self.every and any(row["step"] % self.every == 0 for row in rows):
            self.evaluate(trainer)

    def on_train_end(self, trainer: Trainer) -> None:
        if not self.rows or self.rows[-1]["step"] != trainer.step:
            self.evaluate(trainer)

    def evaluate(self, trainer: Trainer) -> dict[str, Any]:
        """Score the EMA generator now and log the row."""
        began, train_s = time.perf_counter(), self.train_seconds()
        with _rng_untouched(trainer):
            metrics = evaluate_generator(trainer.ema.calibrated(), self.reference, n=self.n, seed=self.seed, progress=False)
        eval_s = time.perf_counter() - began
        self.eval_seconds += eval_s
        row = {"step": trainer.step, "train_s": train_s, "eval_s": eval_s, "time": time.time(), "n": self.n, **metrics}
        self.rows.append(row)
        if trainer.run:
            trainer.run.append_evaluations([row])
        log.info("step %d (%.0f s of training): FID %.2f, IS %.2f", trainer.step, train_s, metrics["fid"], metrics["is_mean"])
        warn_if_collapsed(trainer.step, metrics)
        return row


    def _reference(self, trainer: Trainer) -> RealReference:
        key = (self.feature, trainer.data_source, str(trainer.device))
        if key not in self.references:
            data = trainer.spec.data
            with _rng_untouched(trainer):  # building the extractor draws random init weights
                extractor = load_extractor(
                    trainer.data_source, kind=self.feature, root=data.root, download=data.download, device=trainer.device, registry=trainer.registry
                )
                self.references[key] = real_reference(
                    extractor, trainer.data_source, root=data.root, download=data.download, registry=trainer.registry, progress=False
                )
        return self.references[key]


def _rng_untouched(trainer: Trainer):
    """Evaluating must not shift the random stream training draws from (resume and seeds stay exact)."""
    return torch.random.fork_rng(devices=[trainer.device] if trainer.device.type == "cuda" else [])


def _resumed_train_seconds(trainer: Trainer, eval_rows: list[dict[str, Any]]) -> float:
    """Training time before a resume: logged step times minus the evaluations they contain.

    An evaluation at step s happens before step s + 1, so its time is inside that step's
    ``step_time``; only evaluations before the resumed step count.
    """
    if trainer.run is None or trainer.step == 0:
        return 0.0
    step_times = sum(row.get("step_time", 0.0) for row in trainer.run.read_metrics() if row["step"] <= trainer.step)
    return step_times - sum(row["eval_s"] for row in eval_rows if row["step"] < trainer.step)


def warn_if_collapsed(step: int, metrics: dict[str, Any]) -> None:
    """Warn when an evaluation looks collapsed (IS too low) and for each class it lost."""
    if looks_collapsed(metrics):
        log.warning(
            "step %d: IS %.2f < %g, the generator looks collapsed (it draws one or a few digits); see docs/results.md, "
            "'The collapse'", step, metrics["is_mean"], IS_BELOW,
        )
    for c in lost_classes(metrics):
        log.warning(
            "step %d: class %d looks lost (its FID %.0f is over %g× the median class FID): the generator draws no "
            "clean %d; see docs/results.md, 'The lost class'", step, c, metrics["class_fids"][c], FID_ABOVE_MEDIAN, c,
        )
