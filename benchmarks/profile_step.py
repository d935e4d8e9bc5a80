"""``python -m benchmarks.profile_step [--network sagan] [--batch 64] [--steps 10]``: where a training step's time goes.

Prints torch.profiler's table of operators (self CPU time, over ``--steps`` steps after
warm-up) for one of the networks the benchmark tables compare — the evidence behind the
explanations in docs/performance.md.
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.common import ATTENTION, spec, timed_fit
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_step", description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=list(ATTENTION), default="sagan")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE", help="spec override")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    trainer = Trainer(spec(args.network, f"data.batch_size={args.batch}", *args.overrides), registry=default_registry())
    timed_fit(trainer, 5)()  # warm-up: oneDNN primitives, allocator
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        seconds = timed_fit(trainer, args.steps)()
    print(f"{args.network}, batch {args.batch}: {seconds * 1e3:.1f} ms/step under the profiler ({args.steps} steps)")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
