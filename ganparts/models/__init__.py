"""Generator and discriminator families, and building both from an experiment spec.

The image geometry comes from the caller (the dataset's ``image_shape``): a family builds
for the images it is given, or raises ``ValueError`` naming what it supports.
"""

from __future__ import annotations

import contextlib

from torch import nn

from ganparts.spec.registry import Registry


def build_generator(spec, *, registry: Registry, image_shape: tuple[int, int, int]) -> nn.Module:
    """The generator ``spec.model.generator`` describes (``spec`` is an :class:`~ganparts.spec.experiment.Experiment`)."""
    return _build("generator", spec, registry, image_shape, z_dim=spec.model.z_dim)


def build_discriminator(spec, *, registry: Registry, image_shape: tuple[int, int, int]) -> nn.Module:
    """The discriminator ``spec.model.discriminator`` describes."""
    return _build("discriminator", spec, registry, image_shape)


def _build(kind: str, spec, registry: Registry, image_shape: tuple[int, int, int], **context) -> nn.Module:
    network = registry.create(kind, getattr(spec.model, kind), image_shape=image_shape, registry=registry, **context)
    with contextlib.suppress(AttributeError):
        network.image_shape = tuple(image_shape)  # what generate() makes when asked for no images
    return network
