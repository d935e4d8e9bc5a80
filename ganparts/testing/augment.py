"""The contract of an augment block, checked: :func:`check_augment`.

An augment block's builder returns an ``nn.Module`` whose ``forward(images, strength=1.0)``
returns images of the same shape, each augmented on its own with probability
``p · strength`` (``strength``, ADA's multiplier, is a float or a 0-dim tensor),
differentiably in the pixels, and exactly the identity when ``p · strength`` is 0.
"""

from __future__ import annotations

import torch
from torch import nn

from ganparts.spec.registry import Registry
from ganparts.testing.build import BlockLike, block_spec, keeps_rng, registry_or_default
from ganparts.testing.results import CheckResult, Checks

BATCH = 256  # images per draw: the fraction augmented at p·strength = 0.5 lands within ±0.1 of 0.5 ~always
SHAPE = (1, 28, 28)
TOLERANCE = 0.15  # on the ratio of the fractions changed at 0.5 and at 1 (0.5 expected)


@keeps_rng
def check_augment(block: BlockLike, *, registry: Registry | None = None, raise_on_failure: bool = True) -> list[CheckResult]:
    """Check an augment block: it builds an ``nn.Module``; keeps the images' shape and dtype,
    finite; is exactly the identity at ``p = 0``, at ``strength = 0`` and at
    ``strength = torch.tensor(0.)``; changes most images at ``p = 1``; at ``p · strength = 0.5``
    (either way round) changes about half as many, each image on its own; treats a 0-dim tensor
    strength like the float; and passes gradients to the images. Arguments as for
    :func:`~ganparts.testing.check_attention_block`."""
    registry = registry_or_default(registry)
    entry, spec = block_spec("augment", block, registry, p=1.0)
    checks = Checks(f"augment:{entry.name}")
    at: dict[float, nn.Module] = {}
    with checks.run("builds"):
        for p in (0.0, 0.5, 1.0):
            at[p] = registry.create("augment", spec.model_copy(update={"p": p}))
            assert isinstance(at[p], nn.Module), f"the builder returned {type(at[p]).__name__}, not an nn.Module"
    if not checks.passed("builds"):
        return checks.finish(raise_on_failure)
    images = _images(BATCH)

    with checks.run("keeps the shape"):
        out = at[1.0](images)
        assert out.shape == images.shape and out.dtype == images.dtype, (
            f"it maps {tuple(images.shape)} {images.dtype} to {tuple(out.shape)} {out.dtype}; augmented images keep both"
        )
        assert torch.isfinite(out).all(), "its output is not finite"

    with checks.run("identity when p·strength = 0"):
        for where, module, strength in (("p = 0", at[0.0], 1.0), ("strength = 0", at[1.0], 0.0), ("strength = tensor(0.)", at[1.0], torch.tensor(0.0))):
            assert torch.equal(module(images, strength), images), f"at {where} it changed the images; with p·strength = 0 it must return them unchanged"

    with checks.run("changes images at p = 1"):
        full = _changed(at[1.0], images, 1.0)
        assert full >= 0.5, f"at p = 1 it changed only {full:.0%} of {BATCH} images"

    with checks.run("each image on its own with probability p·strength"):
        full = _changed(at[1.0], images, 1.0)
        for where, module, strength in (("strength 0.5", at[1.0], 0.5), ("p = 0.5", at[0.5], 1.0)):
            half = _changed(module, images, strength)
            assert abs(half / full - 0.5) <= TOLERANCE, (
                f"at {where} it changed {half:.0%} of the images, at p·strength = 1 {full:.0%}: "
                "each image must be augmented on its own with probability p·strength"
            )

    with checks.run("a 0-dim tensor strength acts like the float"):
        torch.manual_seed(3)
        as_float = at[1.0](images, 0.5)
        torch.manual_seed(3)
        as_tensor = at[1.0](images, torch.tensor(0.5))
        assert torch.equal(as_float, as_tensor), "strength=torch.tensor(0.5) gave other images than strength=0.5 under the same seed"

    with checks.run("differentiable in the images"):
        x = _images(8).requires_grad_(True)
        (at[1.0](x, 1.0) * torch.randn_like(x)).sum().backward()
        assert x.grad is not None, "no gradient reaches the images; G learns through the augmentation, so it must be differentiable"
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0, "the images' gradient is zero or not finite"
    return checks.finish(raise_on_failure)


def _images(n: int) -> torch.Tensor:
    """Random images in [-1, 1] with no pixel exactly 0 (a zero-filled transform always shows)."""
    generator = torch.Generator().manual_seed(0)
    return (torch.rand(n, *SHAPE, generator=generator) * 0.9 + 0.1) * torch.where(torch.rand(n, *SHAPE, generator=generator) < 0.5, -1, 1)


def _changed(module: nn.Module, images: torch.Tensor, strength: float) -> float:
    """The fraction of ``images`` the module changed, under a fixed seed."""
    torch.manual_seed(1)
    with torch.no_grad():
        out = module(images, strength)
    return (out != images).flatten(1).any(dim=1).float().mean().item()
