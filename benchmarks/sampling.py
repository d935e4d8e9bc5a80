"""Table 4 — sampling throughput (images/s, batch 1,000) and the attention layer's peak memory at 28×28."""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from torch.profiler import ProfilerActivity, profile

from benchmarks.common import ATTENTION, spec
from benchmarks.plain_sagan import SelfAttn
from benchmarks.timing import interleaved, median, spread
from ganparts.blocks.attend import project
from ganparts.blocks.attention import SelfAttention2d
from ganparts.analysis.inference import generate, load_trained
from ganparts.models import build_generator
from ganparts.plugins import default_registry
from tests.conftest import MNIST_SHAPE

BATCH, MEMORY_BATCH, MEMORY_CHANNELS = 1000, 256, 32  # width 32: the default network's channels at 28×28


def peak_bytes(fn) -> int:
    """Peak of torch's CPU allocations while ``fn`` runs, above what was allocated before.

    From torch.profiler's memory events (profile_memory=True): each op's own allocations
    and each free, replayed in time order. Counts tensors only — not the allocator's slack
    or the interpreter — which is what the attention method changes.
    """
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    current = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        current += event.cpu_memory_usage if event.name == "[memory]" else event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak


def sdpa(block: SelfAttention2d, x: torch.Tensor, *, pad_to_value_width: bool = False) -> torch.Tensor:
    """The block computed through F.scaled_dot_product_attention, as torch dispatches it for
    SAGAN's shapes; or with queries and keys zero-padded to the value width
    (``pad_to_value_width``): the zeros add nothing to q·k, and equal widths let CPU SDPA use
    its fused (flash) kernel, which never holds the map."""
    q, k, v = (rearrange(t, "b c x y -> b 1 (x y) c") for t in project(x, block.query, block.key, block.value))
    if pad_to_value_width:  # padded copies as temporaries: freed before the residual add, not held to the end
        pad = v.shape[-1] - q.shape[-1]
        out = F.scaled_dot_product_attention(F.pad(q, (0, pad)), F.pad(k, (0, pad)), v, scale=1.0)
    else:
        out = F.scaled_dot_product_attention(q, k, v, scale=1.0)
    return x + block.gamma * rearrange(out, "b 1 (x y) c -> b c x y", x=x.shape[-2])


def memory_rows(*, quick: bool) -> list[list]:
    torch.manual_seed(0)
    block = SelfAttention2d(channels=MEMORY_CHANNELS)
    naive = SelfAttn(MEMORY_CHANNELS, fused=False)
    naive.load_state_dict(block.state_dict())
    with torch.no_grad():
        for m in (block, naive):
            m.gamma.fill_(0.5)
    methods = {
        "explicit N×N map (seed-style bmm + softmax)": naive,
        "F.scaled_dot_product_attention, as dispatched": lambda x: sdpa(block, x),
        "SDPA fused kernel (q, k zero-padded to e)": lambda x: sdpa(block, x, pad_to_value_width=True),
        "ganparts SelfAttention2d": block,
    }
    x = torch.randn(MEMORY_BATCH, MEMORY_CHANNELS, 28, 28)
    x_grad = x.clone().requires_grad_(True)

    def forward(fn):
        def run() -> float:
            start = time.perf_counter()
            with torch.no_grad():
                fn(x)
            return time.perf_counter() - start
        return run

    times = interleaved({name: forward(fn) for name, fn in methods.items()}, rounds=3 if quick else 5, warmup=1)
    rows = []
    for name, fn in methods.items():
        inference = peak_bytes(forward(fn))
        training = peak_bytes(lambda: fn(x_grad).sum().backward())
        rows.append([name, inference / 2**20, training / 2**20, median(times[name]) * 1e3])
    return rows


def sampling_rows(*, quick: bool, run_dir: Path | None) -> tuple[list[list], str]:
    generators = {}
    if run_dir is not None:
        trained = load_trained(run_dir, registry=default_registry())
        generators[f"{trained.spec.name} (trained, step {trained.step})"] = trained.generator
        source = f"the EMA generator of {run_dir}"
    else:
        for name in ATTENTION:
            torch.manual_seed(0)
            generators[name] = build_generator(spec(name), registry=default_registry(), image_shape=MNIST_SHAPE).eval()
        source = "freshly initialised generators of the default spec (speed does not depend on the weights' values)"

    def sample(generator):
        def run() -> float:
            start = time.perf_counter()
            generate(generator, BATCH, batch_size=BATCH)
            return time.perf_counter() - start
        return run

    times = interleaved({name: sample(g) for name, g in generators.items()}, rounds=3 if quick else 7, warmup=1)
    return [[name, BATCH / median(t), f"±{spread(t):.1%}", median(t) * 1e3] for name, t in times.items()], source


def run(*, quick: bool, run_dir: Path | None = None) -> dict:
    sampling, source = sampling_rows(quick=quick, run_dir=run_dir)
    memory = memory_rows(quick=quick)
    map_mib = MEMORY_BATCH * 784 * 784 * 4 / 2**20
    return {
        "title": f"4. Sampling throughput (batch {BATCH}, no_grad, eval mode) and attention peak memory (28×28, batch {MEMORY_BATCH}, {MEMORY_CHANNELS} channels)",
        "headers": ["generator", "images/s", "spread", f"ms per {BATCH}"],
        "rows": sampling,
        "second_table": {
            "headers": ["attention at 28×28", "peak MiB, no_grad", "peak MiB, fwd+bwd", "ms fwd (no_grad)"],
            "rows": memory,
        },
        "targets": [],
        "notes": [
            f"Sampling: {source}.",
            f"Memory: peak of torch's tensor allocations during the call (torch.profiler, profile_memory=True), input excluded; one N×N map is {map_mib:,.0f} MiB.",
            "CPU SDPA has a fused kernel only when q/k and v have the same width; SAGAN's value is 8× wider, so as dispatched it",
            "falls back to the math path, which materialises the map like the explicit one. ganparts slices the batch under no_grad instead.",
        ],
    }
