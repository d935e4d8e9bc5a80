"""A controlled comparison of specs: every spec × every seed, each trained for the same time.

Each run trains for a fixed budget of training wall-clock time (evaluation excluded) with
all metrics every ``eval_every`` steps, so runs can be compared at equal steps and at equal
time. A run is finished when its ``result.json`` exists; an unfinished run directory (an
interrupted run) is trained again from scratch, so a study can be stopped and restarted.

    OUT/<spec stem>/seed_<s>/      a run directory (eval.jsonl, metrics.jsonl, checkpoint)
    OUT/<spec stem>/seed_<s>/result.json
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ganparts.blocks.conditional import call
from ganparts.training.callbacks import TimeBudget
from ganparts.metrics.periodic import PeriodicEval
from ganparts.analysis import pictures as viz
from ganparts.runs.atomic import atomic_write
from ganparts.runs.layout import RunDir
from ganparts.spec.files import dump_spec, load_spec
from ganparts.spec.registry import Registry
from ganparts.training.trainer import Trainer

log = logging.getLogger("ganparts")
RESULT = "result.json"
UNBOUNDED_STEPS = 10**9  # the time budget, not train.steps, ends a study run


@dataclass(frozen=True)
class StudyRun:
    variant: str  # the spec file's stem, e.g. sagan_mnist
    spec_path: Path
    seed: int
    path: Path

    @property
    def result_path(self) -> Path:
        return self.path / RESULT

    @property
    def done(self) -> bool:
        return self.result_path.is_file()

    def result(self) -> dict[str, Any]:
        return json.loads(self.result_path.read_text(encoding="utf-8"))


def plan(spec_paths: Sequence[Path], seeds: int, out: Path) -> list[StudyRun]:
    """Every (spec, seed), seed-major: a half-finished study already has every spec at seed 0."""
    return [
        StudyRun(Path(p).stem, Path(p), seed, Path(out) / Path(p).stem / f"seed_{seed}")
        for seed in range(seeds) for p in spec_paths
    ]


def train_run(
    run: StudyRun, *, registry: Registry, budget_s: float, eval_every: int, n: int, overrides: Sequence[str] = (), device: torch.device | str = "cpu",
    references: dict | None = None, clock: Callable[[Trainer], float] | None = None,
) -> dict[str, Any]:
    """Train one (spec, seed) for ``budget_s`` seconds of training time and write its ``result.json``.

    The spec's ``seed`` is replaced; sample grids and checkpoints are written only at the end
    (their cost would otherwise land unevenly in the timed training). ``references``: see
    :class:`~ganparts.metrics.periodic.PeriodicEval`; pass one dict to every run. ``clock``:
    the training seconds the budget counts, given the trainer; by default wall-clock with the
    evaluations taken out (tests pass one that counts steps, so the budget ends at a known step).
    """
    started = time.time()
    spec = load_spec(run.spec_path, [
        *overrides, f"seed={run.seed}", f"train.steps={UNBOUNDED_STEPS}", "train.sample_every=0", "train.checkpoint_every=0",
    ], registry=registry)
    if run.path.exists():
        log.info("%s: unfinished run found; training it again from the start", run.path)
        shutil.rmtree(run.path)
    evaluations = PeriodicEval(every=eval_every, n=n, references=references)
    budget = TimeBudget(seconds=budget_s, clock=evaluations.train_seconds if clock is None else lambda: clock(trainer))
    trainer = Trainer(spec, registry=registry, run_dir=run.path, device=device, callbacks=[evaluations, budget])
    log.info("%s seed %d: training for %.1f min, metrics every %d steps", run.variant, run.seed, budget_s / 60, eval_every)
    trainer.fit()

    with torch.no_grad():
        images = call(trainer.ema.calibrated(), trainer.fixed_noise, trainer.fixed_labels)  # a conditional run: every class in turn
    viz.save_grid(images, run.path / "samples" / "final.png", nrow=min(trainer.num_classes, len(images)) or None)
    step_times = [row["step_time"] for row in RunDir(run.path).read_metrics()]
    result = {
        "variant": run.variant, "seed": run.seed, "spec": dump_spec(spec),
        "steps": trainer.step, "train_s": evaluations.rows[-1]["train_s"],
        "median_step_s": statistics.median(step_times), "evaluations": evaluations.rows,
        # When and with how many CPU threads it trained: runs of `compare --jobs K` overlap and share the cores.
        "started_at": started, "ended_at": time.time(), "threads": torch.get_num_threads(),
        "held_out_floor": {"n": len(evaluations.reference.held_out)} | evaluations.reference.floor,
    }
    atomic_write(run.result_path, json.dumps(result, indent=1))  # written whole, it marks the run finished
    return result
