"""Use a trained run: load its networks from a checkpoint, generate images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganparts.data.images import image_shape
from ganparts.errors import first_line
from ganparts.models import build_discriminator, build_generator
from ganparts.runs import checkpoints as ckpt
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
def generate(generator: nn.Module, n: int, *, seed: int = 0, batch_size: int = 1000, device: torch.device | str = "cpu") -> torch.Tensor:
    """``n`` images in [-1, 1] from latent noise seeded by ``seed`` (same seed, same images)."""
    z = latents(generator.z_dim, n, seed=seed)
    return torch.cat([generator(chunk.to(device)) for chunk in z.split(batch_size)]) if n else z.new_zeros(0, *generator.image_shape)


def latents(z_dim: int, n: int, *, seed: int = 0) -> torch.Tensor:
    """``n`` latent vectors (CPU) seeded by ``seed``: what :func:`generate` feeds the generator."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def interpolate(generator: nn.Module, seed_a: int, seed_b: int, steps: int, *, device: torch.device | str = "cpu") -> torch.Tensor:
    """``steps`` images along the great circle between the first latents of two seeds.

    Spherical interpolation keeps every point at the norm Gaussian latents have, where a
    straight line would pass through unlikely short vectors. The ends are the first
    images ``generate`` makes for ``seed_a`` and ``seed_b``.
    """
    a, b = latents(generator.z_dim, 1, seed=seed_a)[0], latents(generator.z_dim, 1, seed=seed_b)[0]
    t = torch.linspace(0, 1, steps)[:, None]
    angle = torch.arccos((a / a.norm()).dot(b / b.norm()).clamp(-1, 1))
    if angle.abs() < 1e-6:  # the same direction: a straight line is the great circle
        z = torch.lerp(a, b, t)
    else:
        z = (torch.sin((1 - t) * angle) * a + torch.sin(t * angle) * b) / torch.sin(angle)
    return generator(z.to(device))
