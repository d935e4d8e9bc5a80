"""Table 5 — time to quality: training wall-clock until the default spec's EMA generator reaches given FIDs."""

from __future__ import annotations

import torch

from benchmarks.common import spec
from ganparts.training.callbacks import TimeBudget
from ganparts.metrics.periodic import PeriodicEval
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry

FID_THRESHOLDS = (400, 200, 100, 50, 25)
EVAL_EVERY, EVAL_IMAGES = 100, 2000


def run(*, quick: bool) -> dict:
    budget = 60 if quick else 240
    torch.manual_seed(0)
    evaluation = PeriodicEval(every=EVAL_EVERY, n=EVAL_IMAGES)
    trainer = Trainer(spec("sagan", "train.steps=1000000"), callbacks=[evaluation, TimeBudget(seconds=budget, clock=evaluation.train_seconds)], registry=default_registry())
    trainer.fit()
    curve = [[row["step"], row["train_s"], row["fid"], row["is_mean"]] for row in evaluation.rows]
    rows, targets = [], []
    for threshold in FID_THRESHOLDS:
        reached = next((row for row in evaluation.rows if row["fid"] <= threshold), None)
        rows.append([f"FID ≤ {threshold}", *(["not within budget", "-"] if reached is None else [reached["train_s"], reached["step"]])])
    floor = evaluation.reference.floor["fid"]
    return {
        "title": f"5. Time to quality (default SAGAN spec on mnist-5k; FID of {EVAL_IMAGES:,} EMA samples every {EVAL_EVERY} steps; {budget} s budget)",
        "headers": ["quality", "training seconds", "step"],
        "rows": rows,
        "second_table": {"headers": ["step", "training s", "FID", "IS"], "rows": curve},
        "targets": targets,
        "notes": [
            "Training seconds: wall-clock of the training loop with the evaluations taken out (PeriodicEval.train_seconds).",
            f"FID in the MNIST feature network's units (docs/metrics.md); held-out real digits vs training digits score {floor:.1f}.",
        ],
    }
