"""``python -m benchmarks [--quick] [--only 1,3] [--json PATH] [--run DIR]``: print the tables, write JSON.

Run it alone on the machine: another process using the cores makes every number worthless.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks import attention_overhead, concurrency, gpu, many_runs, overhead, sampling, time_to_quality, utilisation
from benchmarks.timing import format_table, machine

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and a shorter time-to-quality budget (~4 min instead of ~10)")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8", help="comma-separated table numbers (default: all; 7 and 8 need CUDA)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results (default: {DEFAULT_JSON})")
    parser.add_argument("--run", type=Path, help="a trained run directory: table 4 samples from its EMA generator")
    args = parser.parse_args(argv)
    wanted = {int(part) for part in args.only.split(",") if part.strip()}
    if not torch.cuda.is_available():
        wanted -= {7, 8}  # the GPU tables: ``python -m benchmarks.gpu --device cpu --quick`` tries one on the CPU

    torch.manual_seed(0)
    report = {"machine": machine(), "quick": args.quick, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "tables": {}}
    print(_describe(report["machine"]), flush=True)
    measured: dict = {}  # table 2's step times and FLOPs, reused by table 3 (same run)
    sections = {
        1: ("overhead", lambda: overhead.run(quick=args.quick)),
        2: ("attention_overhead", lambda: attention_overhead.run(quick=args.quick, measured=measured)),
        3: ("utilisation", lambda: utilisation.run(quick=args.quick, measured=measured)),
        4: ("sampling", lambda: sampling.run(quick=args.quick, run_dir=args.run)),
        5: ("time_to_quality", lambda: time_to_quality.run(quick=args.quick)),
        6: ("concurrency", lambda: concurrency.run(quick=args.quick)),
        7: ("gpu", lambda: gpu.run(device="cuda", quick=args.quick)),
        8: ("many_runs", lambda: many_runs.run(device="cuda", steps=150 if args.quick else 300)),
    }
    for number, (key, section) in sections.items():
        if number in wanted:
            began = time.perf_counter()
            table = section()
            table["seconds"] = time.perf_counter() - began
            report["tables"][key] = table
            print("\n" + render(table), flush=True)
    report["machine"]["load_average_1min_end"] = machine()["load_average_1min"]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\n{_summary(report)}\nresults: {args.json}")
    return 0


def render(table: dict) -> str:
    parts = [table["title"], format_table(table["headers"], table["rows"])]
    if "second_table" in table:
        parts.append(format_table(table["second_table"]["headers"], table["second_table"]["rows"]))
    parts += [f"  {note}" for note in table["notes"]]
    return "\n".join(parts)


def _describe(m: dict) -> str:
    return (f"{m['cpu']} · {m['cores']} cores ({m['torch_threads']} torch threads) · ISA {'/'.join(m['isa']) or '?'} · "
            f"torch {m['torch']} · CUDA {m['cuda'] or 'none'} · load average {m['load_average_1min']:.2f}")


def _summary(report: dict) -> str:
    lines = ["targets:"]
    for table in report["tables"].values():
        for t in table["targets"]:
            lines.append(f"  {'met    ' if t['met'] else 'NOT met'}  {t['name']}: {t['value']:.3f} (target {t['target']})")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
