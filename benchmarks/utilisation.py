"""Table 3 — hardware utilisation: counted FLOPs per step ÷ step time ÷ measured matmul throughput.

Also measures the opt-in training options (``train.compile``, ``train.precision: bf16``)
against the default eager fp32 loop, interleaved in the same rounds.
"""

from __future__ import annotations

import torch

from benchmarks import attention_overhead
from benchmarks.common import ATTENTION, flops_per_step, spec, timed_fit
from benchmarks.timing import interleaved, matmul_flops_per_s, median, ratio
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry

TARGET = 0.5
OPTIONS = {"fp32, eager (default)": [], "train.compile: true": ["train.compile=true"], "train.precision: bf16": ["train.precision=bf16"]}


def run(*, quick: bool, measured: dict | None = None) -> dict:
    """``measured``: table 2's results of this run ({batch: (seconds, flops)}); batch 64 is measured if absent."""
    measured = {} if measured is None else measured
    if 64 not in measured:
        measured[64] = attention_overhead.measure(64, quick=quick)
    seconds, flops = measured[64]
    peak = matmul_flops_per_s(rounds=5 if quick else 9)
    peak_bf16 = matmul_flops_per_s(rounds=5 if quick else 9, dtype=torch.bfloat16)
    rows = []
    for name in ATTENTION:
        achieved = flops[name] / median(seconds[name])
        rows.append([name, flops[name] / 1e9, median(seconds[name]) * 1e3, achieved / 1e9, achieved / peak])
    sagan = rows[list(ATTENTION).index("sagan")][-1]
    options = _options(quick=quick, peaks={"fp32": peak, "bf16": peak_bf16})
    return {
        "title": f"3. Hardware utilisation (batch 64; 1024² matmul on this machine: fp32 {peak / 1e9:,.0f} GFLOP/s, bf16 {peak_bf16 / 1e9:,.0f} GFLOP/s)",
        "headers": ["network (fp32)", "GFLOP/step", "ms/step", "GFLOP/s", "utilisation"],
        "rows": rows,
        "second_table": {
            "headers": ["default SAGAN spec, option", "ms/step", "speed-up", "GFLOP/s", "÷ fp32 peak", "÷ own dtype's peak"],
            "rows": options,
        },
        "targets": [{"name": "utilisation, default SAGAN spec (fp32)", "value": sagan, "target": f"≥ {TARGET}", "met": sagan >= TARGET}],
        "matmul_flops_per_s": {"fp32": peak, "bf16": peak_bf16},
        "notes": [
            "FLOPs by torch.utils.flop_counter.FlopCounterMode (matmuls, convolutions; forward + backward); step times from table 2's rounds.",
            "Options: interleaved rounds after a warm-up that includes torch.compile's compilation; speed-up = median per-round ratio to eager fp32.",
        ],
    }


def _options(*, quick: bool, peaks: dict[str, float]) -> list[list]:
    trainers = {}
    for name, overrides in OPTIONS.items():
        torch.manual_seed(0)
        trainers[name] = Trainer(spec("sagan", *overrides), registry=default_registry())
    flops = flops_per_step(trainers["fp32, eager (default)"])  # the same for each option: same ops, other dtypes or kernels
    results = interleaved({name: timed_fit(t, 10) for name, t in trainers.items()}, rounds=3 if quick else 5, warmup=1)
    rows = []
    for name, t in results.items():
        achieved = flops / median(t)
        own = peaks["bf16" if "bf16" in name else "fp32"]
        rows.append([name, median(t) * 1e3, ratio(results, "fp32, eager (default)", name), achieved / 1e9, achieved / peaks["fp32"], achieved / own])
    return rows
