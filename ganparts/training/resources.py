"""Refuse early what cannot work: a spec too big for memory, a run directory that cannot hold it.

The estimate builds both networks on PyTorch's ``meta`` device — shapes without storage,
so a 10¹²-byte network costs nothing to describe — and runs one forward pass of each
part of a training step there, summing what autograd saves for the backward pass.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganparts.errors import UserError, first_line
from ganparts.blocks.conditional import call, with_labels
from ganparts.blocks.losses import build_objective
from ganparts.data.images import image_shape
from ganparts.models import build_discriminator, build_generator
from ganparts.spec.experiment import Experiment
from ganparts.spec.registry import Registry

log = logging.getLogger("ganparts")

FLOAT_BYTES = 4
# Room for what a run writes besides checkpoints, per step (a metrics row) and per sample
# grid (the grid and the attention picture), measured on the example specs with margin.
METRICS_BYTES_PER_STEP = 512
SAMPLE_BYTES_PER_WRITE = 256 << 10


class ResourceError(UserError):
    """Not enough memory or disk for a spec, or a run directory that cannot be written."""


@dataclass(frozen=True)
class ResourceEstimate:
    """What training a spec needs, in bytes (float32 throughout).

    ``activation_bytes`` is what one step's forward passes keep for backward (G on noise,
    D on fakes and reals, each penalty); the dataset itself is not counted.
    """

    parameters: int
    state_bytes: int  # weights, gradients, both Adam moments, the EMA generator
    activation_bytes: int | None  # None where a block cannot run on the meta device
    batch_bytes: int
    checkpoint_bytes: int
    batch_size: int

    @property
    def total_bytes(self) -> int:
        return self.state_bytes + (self.activation_bytes or 0) + self.batch_bytes

    def describe(self) -> str:
        activations = (
            f"{format_bytes(self.activation_bytes)} of activations at batch size {self.batch_size:,}"
            if self.activation_bytes is not None else "activations unknown"
        )
        return (
            f"about {format_bytes(self.total_bytes)}: {self.parameters:,} parameters "
            f"({format_bytes(self.state_bytes)} with gradients, Adam moments and the EMA copy) + {activations}"
        )


def estimate_resources(
    spec: Experiment, *, registry: Registry, batch_size: int | None = None, networks: tuple[nn.Module, nn.Module] | None = None
) -> ResourceEstimate:
    """Memory and checkpoint size of training ``spec``, without allocating any of it.

    ``batch_size``: the images one process trains on per step (default ``data.batch_size``;
    less under data-parallel training, where each rank takes its share).
    ``networks``: ``spec``'s generator and discriminator already built on the ``meta`` device
    (preflight has them); built here otherwise. Building is most of the cost: on meta every op
    runs through Python kernels (spectral norm's initial power iterations are skipped there).

    The networks must build (:func:`ganparts.training.preflight.preflight` checks that first).
    """
    batch_size = batch_size or spec.data.batch_size
    shape = image_shape(spec.data.source, registry)
    if networks is None:
        with torch.device("meta"):
            networks = build_generator(spec, registry=registry, image_shape=shape), build_discriminator(spec, registry=registry, image_shape=shape)
    generator, discriminator = networks
    g_params, d_params = _count(generator.parameters()), _count(discriminator.parameters())
    g_state, d_state = _count(generator.state_dict().values()), _count(discriminator.state_dict().values())
    try:
        activations = _activation_bytes_per_sample(spec, generator, discriminator, registry, shape) * batch_size
    except (NotImplementedError, RuntimeError) as err:  # a plugin op without a meta kernel
        log.info("memory estimate without activations (%s)", first_line(err))
        activations = None
    image = shape[0] * shape[1] * shape[2]
    return ResourceEstimate(
        parameters=g_params + d_params,
        state_bytes=FLOAT_BYTES * (5 * g_params + 4 * d_params),
        activation_bytes=activations,
        batch_bytes=FLOAT_BYTES * image * batch_size * spec.optim.d_steps,
        # G, the EMA copy and D with their buffers, plus Adam's two moments per parameter.
        checkpoint_bytes=FLOAT_BYTES * (2 * g_state + d_state + 2 * (g_params + d_params)),
        batch_size=batch_size,
    )


def require_memory(
    spec: Experiment, device: torch.device, *, registry: Registry, batch_size: int | None = None, networks: tuple[nn.Module, nn.Module] | None = None
) -> ResourceEstimate:
    """The estimate for ``spec`` (see :func:`estimate_resources`); :class:`ResourceError` when it exceeds what ``device`` has free."""
    estimate = estimate_resources(spec, registry=registry, batch_size=batch_size, networks=networks)
    free = available_memory(device)
    if free is not None and estimate.total_bytes > free:
        raise ResourceError(
            f"this spec needs {estimate.describe()};\n"
            f"{device} has {format_bytes(free)} available. Lower data.batch_size or the networks' width."
        )
    return estimate


def available_memory(device: torch.device) -> int | None:
    """Free memory of ``device`` in bytes (host RAM for the CPU), or None where unknown."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None


def require_writable(run_dir: Path) -> None:
    """:class:`ResourceError` unless ``run_dir`` exists as a directory, or could be created, and takes files.

    Probes by creating (and removing) a hidden temporary file in ``run_dir`` or its nearest
    existing parent, so the answer is the file system's, not the permission bits'.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ResourceError(f"--out {run_dir}: exists and is not a directory")
    parent = _nearest_existing(run_dir)
    if not parent.is_dir():
        raise ResourceError(f"--out {run_dir}: {parent} is a file, so no directory can be made under it")
    try:
        with tempfile.TemporaryFile(dir=parent, prefix=".ganparts-write-probe-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as err:
        raise ResourceError(f"--out {run_dir}: cannot write in {parent} ({err.strerror or err})") from None


def require_disk_space(run_dir: Path, spec: Experiment, estimate: ResourceEstimate, *, from_step: int = 0, checkpoints_present: int = 0) -> int:
    """Bytes the rest of the run will write; :class:`ResourceError` when the disk has less free.

    A run keeps ``train.keep_checkpoints`` checkpoints and writes the next one before it
    deletes the oldest, so it needs room for one more than it keeps.
    """
    train = spec.train
    steps = max(0, train.steps - from_step)
    writes = steps // train.sample_every + 1 if train.sample_every else 1
    new_checkpoints = max(1, train.keep_checkpoints + 1 - checkpoints_present)
    needed = estimate.checkpoint_bytes * new_checkpoints + steps * METRICS_BYTES_PER_STEP + writes * SAMPLE_BYTES_PER_WRITE
    free = shutil.disk_usage(_nearest_existing(Path(run_dir))).free
    if needed > free:
        raise ResourceError(
            f"--out {run_dir}: the run needs about {format_bytes(needed)} of disk "
            f"({new_checkpoints} checkpoint(s) of {format_bytes(estimate.checkpoint_bytes)}, metrics and samples); "
            f"{format_bytes(free)} is free there.\nFree some space, choose another --out, or lower train.keep_checkpoints."
        )
    return needed


def format_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _count(tensors) -> int:
    return sum(t.numel() for t in tensors)


def _activation_bytes_per_sample(
    spec: Experiment, generator: nn.Module, discriminator: nn.Module, registry: Registry, shape: tuple[int, int, int]
) -> int:
    """Bytes autograd saves per image in one step; batch 2 and 4 differ by exactly two images."""
    _, penalties = build_objective(spec, registry)

    def saved_bytes(batch: int) -> int:
        seen: dict[int, torch.Tensor] = {}  # keeps each saved tensor alive, so ids stay unique

        def pack(t: torch.Tensor) -> torch.Tensor:
            seen.setdefault(id(t), t)
            return t

        with torch.device("meta"), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            labels = torch.zeros(batch, dtype=torch.long) if spec.model.num_classes else None
            fake = call(generator, torch.empty(batch, spec.model.z_dim), labels)
            real = torch.empty(batch, *shape)
            call(discriminator, fake, labels)
            call(discriminator, real, labels)
            for penalty in penalties:
                penalty(discriminator=with_labels(discriminator, labels), real=real, fake=fake.detach())
        return sum(t.numel() * t.element_size() for t in seen.values())

    return (saved_bytes(4) - saved_bytes(2)) // 2
