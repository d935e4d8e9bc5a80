"""What issue #13's launch savings do on the CPU: ``python -m benchmarks.step_variants [--rounds N]``.

1. The Adam update of the default SAGAN's G and D alone (random gradients): torch's CPU
   default (a Python loop over the tensors), ``foreach=True`` and ``fused=True``.
2. Whole training steps (``Trainer.fit``, default SAGAN spec, mnist-5k): as trained now (reals
   and fakes through D in one call, fused Adam), two D calls with fused Adam, and as before
   (two D calls, torch's CPU default Adam).

Variants run in interleaved rounds (timing.py); ratios are medians of per-round ratios. Run it
with nothing else on the machine: the differences are a few per cent.
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.common import spec, timed_fit
from benchmarks.timing import interleaved, median, ratio, spread
from ganparts.plugins import default_registry
from ganparts.training.trainer import Trainer

ADAM = {"CPU default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def trainer(*, batch: int, joint: bool = True, adam: str = "fused") -> Trainer:
    torch.manual_seed(0)
    t = Trainer(spec("sagan", f"data.batch_size={batch}"), registry=default_registry())
    t.joint_d = joint
    betas = tuple(t.spec.optim.betas)
    t.opt_g = torch.optim.Adam(t.generator.parameters(), lr=t.spec.optim.g_lr, betas=betas, **ADAM[adam])
    t.opt_d = torch.optim.Adam(t.discriminator.parameters(), lr=t.spec.optim.d_lr, betas=betas, **ADAM[adam])
    return t


def adam_update(t: Trainer, repeats: int = 50):
    for p in [*t.generator.parameters(), *t.discriminator.parameters()]:
        p.grad = torch.randn_like(p)

    def run() -> float:
        start = time.perf_counter()
        for _ in range(repeats):
            t.opt_g.step()
            t.opt_d.step()
        return (time.perf_counter() - start) / repeats

    return run


def report(results: dict[str, list[float]], base: str, unit: float, label: str) -> None:
    for name, values in results.items():
        print(f"  {name:44s} {median(values) * unit:8.2f} {label} ±{spread(values):5.1%}   / {base}: {ratio(results, name, base):.3f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.step_variants", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, {args.rounds} rounds", flush=True)

    print("1. Adam update of G and D (µs)")
    updates = interleaved({name: adam_update(trainer(batch=args.batch, adam=name)) for name in ADAM}, rounds=args.rounds, warmup=1)
    report(updates, "CPU default", 1e6, "µs")

    print("2. training step (ms, 10 steps of Trainer.fit per round)")
    variants = {
        "now: one D call, fused Adam": trainer(batch=args.batch),
        "two D calls, fused Adam": trainer(batch=args.batch, joint=False),
        "before: two D calls, CPU default Adam": trainer(batch=args.batch, joint=False, adam="CPU default"),
    }
    steps = interleaved({name: timed_fit(t, 10) for name, t in variants.items()}, rounds=args.rounds, warmup=1)
    report(steps, "before: two D calls, CPU default Adam", 1e3, "ms")
    print(f"  one D call / two D calls (both fused): {ratio(steps, 'now: one D call, fused Adam', 'two D calls, fused Adam'):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
