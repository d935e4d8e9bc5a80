"""Use a trained run: load its networks from a checkpoint, generate images (of chosen classes,
for a class-conditional run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganparts.blocks.conditional import call, class_cycle
from ganparts.data.images import image_shape
from ganparts.errors import first_line
from ganparts.models import build_discriminator, build_generator
from ganparts.runs import checkpoints as ckpt
from ganparts.spec import provenance
from ganparts.spec.experiment import Experiment
from ganparts.spec.files import parse_spec_text, validate_spec
from ganparts.spec.registry import Registry


@dataclass
class TrainedGAN:
    spec: Experiment
    generator: nn.Module  # the EMA generator, in eval mode
    discriminator: nn.Module
    step: int
    checkpoint: Path
    registry: Registry  # what the networks were built from: loading data or blocks for this run uses it too

    @property
    def num_classes(self) -> int:
        """Classes the generator draws on request (``model.num_classes``; 0: unconditional)."""
        return self.spec.model.num_classes


def load_trained(run_or_checkpoint: str | Path, *, registry: Registry, device: torch.device | str = "cpu") -> TrainedGAN:
    """Networks of a run's newest checkpoint (or of the checkpoint directory given)."""
    path = Path(run_or_checkpoint)
    if (path / ckpt.STATE).exists():
        found = ckpt.load_checkpoint(path, device)
    else:
        if not path.is_dir():
            raise ckpt.CheckpointError(f"{path}: no such run directory")
        found = ckpt.latest_checkpoint(path, device)
        if found is None:
            raise ckpt.CheckpointError(f"{path}: no checkpoint yet (train it first: ganparts train SPEC --out {path})")
    # Before validating: a block whose plugin is missing is named with what to install.
    provenance.require_recorded(found.state.get("blocks"), registry, where=str(found.path))
    spec = validate_spec(parse_spec_text(found.spec_text, where=str(found.path / ckpt.SPEC)), registry)
    shape = image_shape(spec.data.source, registry)
    generator = build_generator(spec, registry=registry, image_shape=shape)
    discriminator = build_discriminator(spec, registry=registry, image_shape=shape)
    try:
        generator.load_state_dict(found.group("generator_ema"))
        discriminator.load_state_dict(found.group("discriminator"))
    except RuntimeError as err:
        raise ckpt.CheckpointError(f"{found.path}: weights do not match its spec ({first_line(err)})") from None
    return TrainedGAN(spec, generator.to(device).eval(), discriminator.to(device).eval(), found.step, found.path, registry)


@torch.no_grad()
def generate(
    generator: nn.Module, n: int, *, seed: int = 0, labels: int | torch.Tensor | None = None, batch_size: int = 1000,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """``n`` images in [-1, 1] from latent noise seeded by ``seed`` (same seed, same images).

    ``labels`` (class-conditional generators only): one class for all ``n``, or ``n``
    classes; by default every class in turn (see :func:`class_labels`). The latents do not
    depend on the classes, so one seed shows the same styles in every class.
    """
    return _run(generator, latents(generator.z_dim, n, seed=seed), class_labels(generator, n, labels), batch_size, device)


@torch.no_grad()
def class_rows(
    generator: nn.Module, per_class: int, *, seed: int = 0, batch_size: int = 1000, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """A class-conditional generator's classes side by side: ``per_class`` images of class 0,
    then of class 1, … (row c of a grid ``per_class`` wide is class c); column j is the j-th
    latent of ``seed`` in every row, so the rows show one style per column.

    Returns:
        the images and their (CPU) labels.
    """
    classes = getattr(generator, "num_classes", 0)
    if not classes:
        raise ValueError("this generator is unconditional (model.num_classes: 0): it has no classes to show")
    z = latents(generator.z_dim, per_class, seed=seed).repeat(classes, 1)
    labels = torch.arange(classes).repeat_interleave(per_class)
    return _run(generator, z, labels, batch_size, device), labels


def _run(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None, batch_size: int, device: torch.device | str) -> torch.Tensor:
    """``generator`` on CPU latents (and labels) in batches, on ``device``."""
    if not len(z):
        return z.new_zeros(0, *generator.image_shape)
    y_chunks = (None,) * len(z.split(batch_size)) if labels is None else [y.to(device) for y in labels.split(batch_size)]
    return torch.cat([call(generator, chunk.to(device), y) for chunk, y in zip(z.split(batch_size), y_chunks)])


def class_labels(generator: nn.Module, n: int, labels: int | torch.Tensor | None = None) -> torch.Tensor | None:
    """The (n,) CPU labels :func:`generate` gives ``generator``: None for an unconditional one;
    for a conditional one ``labels`` (one class, or n), or by default 0, 1, …, C−1, 0, …

    Raises:
        ValueError: labels for an unconditional generator, or a class it does not have.
    """
    classes = getattr(generator, "num_classes", 0)
    if not classes:
        if labels is not None:
            raise ValueError("this generator is unconditional (model.num_classes: 0): it cannot be asked for a class")
        return None
    if labels is None:
        return class_cycle(n, classes)
    labels = torch.as_tensor(labels, dtype=torch.long).cpu()
    labels = labels.expand(n) if labels.dim() == 0 else labels
    if labels.shape != (n,):
        raise ValueError(f"expected one class or {n} labels, got shape {tuple(labels.shape)}")
    if n and not (0 <= int(labels.min()) and int(labels.max()) < classes):
        raise ValueError(f"this generator draws classes 0 to {classes - 1}; asked for {sorted(set(labels.tolist()) - set(range(classes)))}")
    return labels


def latents(z_dim: int, n: int, *, seed: int = 0) -> torch.Tensor:
    """``n`` latent vectors (CPU) seeded by ``seed``: what :func:`generate` feeds the generator."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def interpolate(
    generator: nn.Module, seed_a: int, seed_b: int, steps: int, *, label: int | None = None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """``steps`` images along the great circle between the first latents of two seeds.

    Spherical interpolation keeps every point at the norm Gaussian latents have, where a
    straight line would pass through unlikely short vectors. The ends are the first
    images ``generate`` makes for ``seed_a`` and ``seed_b``. A class-conditional generator
    draws class ``label`` all along (default 0, the class of those first images).
    """
    a, b = latents(generator.z_dim, 1, seed=seed_a)[0], latents(generator.z_dim, 1, seed=seed_b)[0]
    t = torch.linspace(0, 1, steps)[:, None]
    angle = torch.arccos((a / a.norm()).dot(b / b.norm()).clamp(-1, 1))
    if angle.abs() < 1e-6:  # the same direction: a straight line is the great circle
        z = torch.lerp(a, b, t)
    else:
        z = (torch.sin((1 - t) * angle) * a + torch.sin(t * angle) * b) / torch.sin(angle)
    if label is None and getattr(generator, "num_classes", 0):
        label = 0
    y = class_labels(generator, steps, label)
    return call(generator, z.to(device), None if y is None else y.to(device))
