"""Table 2 — attention overhead: step time with SAGAN blocks ÷ without, at batch 64 and 256."""

from __future__ import annotations

import torch

from benchmarks.common import ATTENTION, flops_per_step, spec, timed_fit
from benchmarks.timing import interleaved, median, ratio, spread
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry

TARGETS = {"sagan": 1.10, "sagan_pooled": 1.05}


def measure(batch_size: int, *, quick: bool) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Seconds per step of each network in ATTENTION (interleaved rounds), and FLOPs per step."""
    trainers = {}
    for name in ATTENTION:
        torch.manual_seed(0)
        trainers[name] = Trainer(spec(name, f"data.batch_size={batch_size}"), registry=default_registry())
    flops = {name: flops_per_step(t) for name, t in trainers.items()}
    steps = max(2, 640 // batch_size)
    rounds = (3 if quick else 7) if batch_size <= 64 else (3 if quick else 5)
    return interleaved({name: timed_fit(t, steps) for name, t in trainers.items()}, rounds=rounds, warmup=1), flops


def run(*, quick: bool, measured: dict | None = None) -> dict:
    """``measured``: {batch: (seconds, flops)} to fill in; table 3 reuses batch 64 from the same run."""
    measured = {} if measured is None else measured
    rows, targets = [], []
    for batch in (64, 256):
        if batch not in measured:
            measured[batch] = measure(batch, quick=quick)
        seconds, flops = measured[batch]
        for name in ATTENTION:
            r = ratio(seconds, name, "baseline")
            flop_ratio = flops[name] / flops["baseline"]
            rows.append([batch, name, median(seconds[name]) * 1e3, f"±{spread(seconds[name]):.1%}", r, flop_ratio, flops[name] / 1e9])
            if name in TARGETS:
                targets.append({"name": f"{name} / baseline, batch {batch}", "value": r, "target": f"≤ {TARGETS[name]}", "met": r <= TARGETS[name]})
    return {
        "title": "2. Attention overhead (default spec: one attention block at 14×14 in G and in D; baseline = none)",
        "headers": ["batch", "network", "ms/step", "spread", "time / baseline", "FLOPs / baseline", "GFLOP/step"],
        "rows": rows,
        "targets": targets,
        "notes": [
            "time / baseline: median of per-round ratios over interleaved rounds. FLOPs / baseline: the arithmetic the",
            "blocks add (FlopCounterMode, forward + backward); time can only beat it if attention runs faster per FLOP than the convolutions.",
        ],
    }
