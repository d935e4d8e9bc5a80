"""Table 6 — sharing the machine: trainings beside each other and beside short CLI commands.

Each training is a real ``ganparts train`` process (default SAGAN spec on mnist-5k); its speed
is the median step time of its second half from ``metrics.jsonl``. "all cores" is how every
torch process sized its thread pool before thread budgets; "budget" is what ganparts now gives
each process (ganparts/runs/threads.py): a background job its share, a short command one thread.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import DEFAULT_SPEC
from ganparts.runs.layout import RunDir
from ganparts.runs.threads import THREADS_ENV, available_cores, share

CLI_COMMAND = ["validate", str(DEFAULT_SPEC), "--set", "data.source=mnist-5k"]


def _train(out: Path, steps: int, threads: int, device: str = "cpu") -> subprocess.Popen:
    command = [
        sys.executable, "-m", "ganparts", "train", str(DEFAULT_SPEC), "--out", str(out), "--no-progress", "--device", device,
        "--set", "data.source=mnist-5k", "--set", f"train.steps={steps}", "--set", "train.sample_every=0", "--set", "train.checkpoint_every=0",
    ]
    env = {**os.environ, THREADS_ENV: str(threads), "OMP_NUM_THREADS": str(threads)}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _steps_per_s(out: Path) -> float:
    rows = RunDir(out).read_metrics()
    return 1.0 / statistics.median(row["step_time"] for row in rows[len(rows) // 2:])


def _trainings(root: Path, name: str, count: int, steps: int, threads: int, *, cli_threads: int | None = None, device: str = "cpu") -> list[float]:
    """``count`` trainings started together (and, with ``cli_threads``, a loop of CLI commands beside them); each one's steps/s."""
    outs = [root / f"{name}-{i}" for i in range(count)]
    processes = [_train(out, steps, threads, device) for out in outs]
    cli_runs = 0
    while cli_threads is not None and any(p.poll() is None for p in processes):
        env = {**os.environ, "OMP_NUM_THREADS": str(cli_threads)}
        subprocess.run([sys.executable, "-m", "ganparts", *CLI_COMMAND], env=env, capture_output=True, check=False)
        cli_runs += 1
    for process in processes:
        if process.wait() != 0:
            raise RuntimeError(f"a benchmark training failed (exit {process.returncode}) in {root}")
    return [_steps_per_s(out) for out in outs]


def run(*, quick: bool) -> dict:
    steps = 40 if quick else 150
    cores = available_cores()
    with tempfile.TemporaryDirectory(prefix="ganparts-concurrency-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        alone = _trainings(root, "alone", 1, steps, cores)[0]
        two_before = _trainings(root, "two-before", 2, steps, cores)
        two_after = _trainings(root, "two-after", 2, steps, share(2))
        # A short command with every core (before) and with one thread (what `validate` now takes).
        cli_before = _trainings(root, "cli-before", 1, steps, cores, cli_threads=cores)[0]
        cli_after = _trainings(root, "cli-after", 1, steps, cores, cli_threads=1)[0]
        seconds = time.perf_counter() - began
    rows = [
        ["one training alone", "all cores", f"{alone:.2f}", "1.00"],
        ["two trainings at once", "all cores each", f"{sum(two_before):.2f}", f"{sum(two_before) / alone:.2f}"],
        ["two trainings at once", f"budget: {share(2)} each", f"{sum(two_after):.2f}", f"{sum(two_after) / alone:.2f}"],
        ["a training beside a loop of `ganparts validate`", "validate with all cores", f"{cli_before:.2f}", f"{cli_before / alone:.2f}"],
        ["a training beside a loop of `ganparts validate`", "validate with 1 thread", f"{cli_after:.2f}", f"{cli_after / alone:.2f}"],
    ]
    return {
        "title": f"6. Sharing the machine ({cores} cores; default SAGAN spec on mnist-5k, {steps} steps per training; {seconds:.0f} s)",
        "headers": ["what ran", "threads", "training steps/s (total)", "× one alone"],
        "rows": rows,
        "targets": [
            {"name": "two trainings' total throughput vs one alone (budget)", "value": sum(two_after) / alone, "target": ">= 0.9", "met": sum(two_after) / alone >= 0.9},
            {"name": "training beside a CLI loop vs alone (budget)", "value": cli_after / alone, "target": ">= 0.6", "met": cli_after / alone >= 0.6},
        ],
        "notes": [
            "steps/s: 1 / median step time over the second half of each run's metrics.jsonl; totals add both trainings.",
            "Run it with nothing else busy: the table measures contention, so any other process spoils it.",
        ],
    }
