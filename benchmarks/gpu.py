"""Table 7 — GPU throughput: steps/s and images/s of the default SAGAN spec at batch 32/64/256,
eager, ``train.cuda_graph: true``, ``train.compile: true`` and ``train.precision: bf16``.

``python -m benchmarks.gpu [--device cuda] [--quick] [--json PATH]`` prints the table and
writes JSON; ``make bench`` adds it on a machine with CUDA. ``--device cpu --quick`` runs the
same code on the CPU in a few minutes, so that the script is known to work before a GPU is
at hand. A step is timed inside ``Trainer.fit()`` with the spec's own logging (a host sync
every ``train.log_every`` = 10 steps), since that is what a user's run does; each round ends
at a log flush, which waits for the device, so wall-clock time is the device's time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.common import flops_per_step, spec, timed_fit
from benchmarks.timing import format_table, interleaved, machine, median, spread
from ganparts.plugins import default_registry
from ganparts.training.trainer import Trainer

OPTIONS = {
    "eager": [],
    "bf16": ["train.precision=bf16"],
    "graph": ["train.cuda_graph=true"],
    "graph+bf16": ["train.cuda_graph=true", "train.precision=bf16"],
    "compile": ["train.compile=true"],
    "compile-ro": ["train.compile=true", "train.compile_mode=reduce-overhead"],
    "compile-ma": ["train.compile=true", "train.compile_mode=max-autotune-no-cudagraphs"],
}
WARMUP_STEPS = 5  # covers train.cuda_graph's 3 eager steps and its capture; compiles with train.compile
BATCHES = (32, 64, 256)
HEADERS = ["batch", "option", "ms/step", "spread", "steps/s", "images/s", "TFLOP/s", "warm-up s"]


def run(*, device: str = "cuda", quick: bool = False, batches=BATCHES, options=tuple(OPTIONS), budget_s: float = 240.0, report=None) -> dict:
    """Measure every (batch, option), compiled ones last (compilation is the slow part), each on
    its own: warm-up, then rounds. A variant that fails, or that would start after ``budget_s``,
    is reported in its row, not raised. ``report(row)`` is called as each row is measured."""
    began = time.perf_counter()
    steps, rounds = (20, 2) if quick else (50, 3)
    if torch.device(device).type == "cpu":
        steps = 3 if quick else 10
    compiling = [o for o in options if o.startswith("compile")]  # last: compilation is the slow part
    order = [(b, o) for o in options if o not in compiling for b in batches] + [(b, o) for o in compiling for b in batches]
    measured, raw, flops = {}, {}, {}
    for batch, name in order:
        if time.perf_counter() - began > budget_s:
            measured[batch, name] = [batch, name, "not measured (time budget)"] + [""] * 5
        else:
            measured[batch, name], raw[f"{batch}/{name}"] = _measure(batch, name, device=device, steps=steps, rounds=rounds, flops=flops)
        if report:
            report(measured[batch, name])
    return {
        "title": f"7. Throughput on {_device_name(device)} (default SAGAN spec, mnist-5k, one D update per step)",
        "headers": HEADERS,
        "rows": [measured[b, o] for b in batches for o in options],
        "targets": [],
        "raw": raw,
        "notes": [
            f"{rounds} rounds of {steps} steps of Trainer.fit() after a 5-step warm-up (warm-up s: it includes torch.compile's compilation and the CUDA graph's capture);",
            "options are timed one after another, not interleaved: on a dedicated GPU the spread column shows how steady the rounds were.",
            "images/s = data.batch_size × steps/s (real images; D also scores as many fakes, G makes two batches).",
            "TFLOP/s: FlopCounterMode's count of one eager fp32 step (matmuls, convolutions; forward + backward) ÷ time.",
        ],
    }


def _measure(batch: int, name: str, *, device: str, steps: int, rounds: int, flops: dict) -> tuple[list, dict]:
    """One row of the table and its raw timings. ``flops``: per batch size, counted once on the eager trainer."""
    try:
        torch.manual_seed(0)
        trainer = Trainer(spec("sagan", f"data.batch_size={batch}", *OPTIONS[name]), registry=default_registry(), device=device)
        start = time.perf_counter()
        timed_fit(trainer, WARMUP_STEPS)()  # compiles or captures, and warms the allocator and kernel caches
        warmup = time.perf_counter() - start
        seconds = interleaved({name: timed_fit(trainer, steps)}, rounds=rounds, warmup=0)[name]
        if name == "eager":
            flops[batch] = flops_per_step(trainer)  # the same ops in every option (other dtypes or kernels)
    except Exception as err:  # noqa: BLE001 — one broken option (no Triton, out of memory, …) must not hide the others
        first = str(err).splitlines()[0][:120] if str(err) else ""
        return [batch, name, f"failed: {type(err).__name__}: {first}"] + [""] * 5, {"failed": first}
    finally:
        trainer = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    s = median(seconds)
    tflops = f"{flops[batch] / s / 1e12:.3f}" if batch in flops else ""
    row = [batch, name, s * 1e3, f"±{spread(seconds):.1%}", 1 / s, batch / s, tflops, warmup]
    return row, {"seconds_per_step": seconds, "warmup_s": warmup, "flops_per_step": flops.get(batch)}


def _device_name(device: str) -> str:
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device)) if torch.cuda.is_available() else f"{device} (not available)"
    return f"{machine()['cpu']} ({torch.get_num_threads()} torch threads)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:1, cpu …")
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)), help="comma-separated batch sizes")
    parser.add_argument("--options", default=",".join(OPTIONS), help=f"comma-separated, of {', '.join(OPTIONS)}")
    parser.add_argument("--budget-s", type=float, default=240.0, help="start no new batch size after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the table and every round's time here")
    args = parser.parse_args(argv)
    options = [o for o in args.options.split(",") if o]
    if unknown := set(options) - set(OPTIONS):
        parser.error(f"unknown option(s) {', '.join(sorted(unknown))}; choose from {', '.join(OPTIONS)}")
    print("rows as measured (a run cut short keeps these):", flush=True)
    table = run(
        device=args.device, quick=args.quick, budget_s=args.budget_s,
        batches=[int(b) for b in args.batches.split(",")], options=options,
        report=lambda row: print("  " + " | ".join(f"{v:,.4g}" if isinstance(v, float) else str(v) for v in row), flush=True),
    )
    print("\n" + "\n".join([table["title"], format_table(table["headers"], table["rows"]), *(f"  {note}" for note in table["notes"])]), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), "table": table}, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
