"""Table 8 — many runs on one device: the aggregate throughput of K trainings at once.

What ``ganparts compare --jobs K`` does with a study: K runs side by side, each its own
process with 1/K of the CPU cores (a GPU they share). Each training is a real ``ganparts
train`` process (default SAGAN spec on mnist-5k); its speed is the median step time
of the second half of its ``metrics.jsonl``, and the aggregate adds the K of them.

``python -m benchmarks.many_runs [--device cuda] [--jobs 1,2,4,8] [--steps N] [--json PATH]``;
``make bench`` adds it on a machine with CUDA, and ``benchmarks/gpu_check.sh`` runs it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.concurrency import _trainings
from benchmarks.timing import format_table
from ganparts.runs.threads import share

HEADERS = ["runs at once (K)", "threads each", "steps/s per run (median)", "aggregate steps/s", "× K = 1"]


def run(*, device: str = "cuda", jobs=(1, 2, 4, 8), steps: int = 300) -> dict:
    rows, raw = [], {}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ganparts-many-runs-") as tmp:
        for k in jobs:
            rates = _trainings(Path(tmp), f"k{k}", k, steps, share(k), device=device)
            raw[k] = rates
            total = sum(rates)
            rows.append([k, share(k), f"{sorted(rates)[len(rates) // 2]:.1f}", f"{total:.1f}", f"{total / sum(raw[jobs[0]]):.2f}"])
    return {
        "title": f"8. Many runs at once on {device} (default SAGAN spec, mnist-5k, {steps} steps per run; {time.perf_counter() - began:.0f} s)",
        "headers": HEADERS,
        "rows": rows,
        "targets": [],
        "raw": raw,
        "notes": [
            "steps/s: 1 / median step time over the second half of each run's metrics.jsonl; the aggregate adds the runs.",
            f"× K = 1: the aggregate against K = {jobs[0]}. The runs start together, so their second halves overlap.",
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.many_runs", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--jobs", default="1,2,4,8", help="comma-separated K (default 1,2,4,8)")
    parser.add_argument("--steps", type=int, default=300, help="steps per run (default 300)")
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    table = run(device=args.device, jobs=tuple(int(k) for k in args.jobs.split(",")), steps=args.steps)
    print(table["title"], format_table(table["headers"], table["rows"]), *table["notes"], sep="\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
