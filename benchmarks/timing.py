"""Timing that survives a noisy machine: warm-up, interleaved rounds, medians, ratios within one run."""

from __future__ import annotations

import os
import platform
import statistics
from typing import Callable

import torch


def interleaved(variants: dict[str, Callable[[], float]], *, rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Call every variant once per round, the order rotating between rounds; each call returns
    seconds (per step, per image …). Warm-up calls (allocator, oneDNN primitive caches) are
    discarded. Returns every round's value per variant."""
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            results[name].append(variants[name]())
    return results


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio(results: dict[str, list[float]], numerator: str, denominator: str) -> float:
    """Median over rounds of the per-round ratio: each round's pair ran minutes apart at most,
    so slow phases of a shared machine cancel out better than in a ratio of medians."""
    return statistics.median(a / b for a, b in zip(results[numerator], results[denominator]))


def spread(values: list[float]) -> float:
    """Half the interquartile range relative to the median: how noisy the rounds were."""
    if len(values) < 4:
        return (max(values) - min(values)) / 2 / median(values)
    q1, _, q3 = statistics.quantiles(values, n=4)
    return (q3 - q1) / 2 / median(values)


def matmul_flops_per_s(*, size: int = 1024, rounds: int = 7, inner: int = 20, dtype: torch.dtype = torch.float32) -> float:
    """Measured matrix-multiply throughput (FLOP/s) of this machine in ``dtype``: the ceiling for utilisation."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    out = torch.empty(size, size, dtype=dtype)

    def run() -> float:
        import time

        start = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b, out=out)
        return (time.perf_counter() - start) / inner

    seconds = median(interleaved({"mm": run}, rounds=rounds, warmup=2)["mm"])
    return 2 * size**3 / seconds


def machine() -> dict:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            lines = f.read().splitlines()
        model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), model)
        flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    except OSError:
        flags = []
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "isa": [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags],
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def format_table(headers: list[str], rows: list[list]) -> str:
    """A plain fixed-width table (numbers right-aligned)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)
