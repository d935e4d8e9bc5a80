"""Table 1 — framework overhead: ganparts' training loop vs the same SAGAN written in plain PyTorch."""

from __future__ import annotations

import torch

from benchmarks.common import spec, timed_fit
from benchmarks.plain_sagan import PlainSAGAN
from benchmarks.timing import interleaved, median, ratio, spread
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry

TARGET = 1.03


def run(*, quick: bool) -> dict:
    torch.manual_seed(0)
    trainer = Trainer(spec("sagan"), registry=default_registry())
    plain = {
        "plain, seed-style attention": PlainSAGAN.like(trainer, fused=False),
        "plain, ganparts' attention kernels": PlainSAGAN.like(trainer, fused=True),
    }  # same weights, so both sides do the same arithmetic
    steps = trainer.spec.train.log_every  # one log flush per timed chunk, as in a real run
    variants = {"ganparts Trainer.fit": timed_fit(trainer, steps)} | {name: (lambda net=net: net.train(steps)) for name, net in plain.items()}
    results = interleaved(variants, rounds=5 if quick else 11, warmup=1)

    rows, targets = [], []
    for name, seconds in results.items():
        r = ratio(results, "ganparts Trainer.fit", name) if name in plain else 1.0
        rows.append([name, median(seconds) * 1e3, f"±{spread(seconds):.1%}", 1 / median(seconds), r])
        if name in plain:
            targets.append({"name": f"ganparts / {name}", "value": r, "target": f"≤ {TARGET}", "met": r <= TARGET})
    return {
        "title": f"1. Framework overhead (default SAGAN spec, batch {trainer.spec.data.batch_size}, one training step incl. batch sampling, EMA, logging)",
        "headers": ["loop", "ms/step", "spread", "steps/s", "ganparts / this"],
        "rows": rows,
        "targets": targets,
        "raw_seconds": results,
        "notes": [
            f"{len(results['ganparts Trainer.fit'])} interleaved rounds of {steps} steps after warm-up; ratio = median of per-round ratios.",
            "Both sides start from the same weights (copied) and train the same networks, loss, optimisers and EMA.",
        ],
    }
