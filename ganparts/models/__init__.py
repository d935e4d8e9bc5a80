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


def supports_classes(family) -> bool:
    """Whether a generator/discriminator family spec (a spec or its class) builds class-conditional networks."""
    return bool(getattr(family if isinstance(family, type) else type(family), "conditional", False))


def _build(kind: str, spec, registry: Registry, image_shape: tuple[int, int, int], **context) -> nn.Module:
    family, classes = getattr(spec.model, kind), spec.model.num_classes
    if classes:  # only then: an unconditional family's builder need not know the word
        if not supports_classes(family):
            raise ValueError(f"the {kind} family {family.kind!r} does not support class conditioning (model.num_classes)")
        context["num_classes"] = classes
    network = registry.create(kind, family, image_shape=image_shape, registry=registry, **context)
    with contextlib.suppress(AttributeError):
        network.image_shape = tuple(image_shape)  # what generate() makes when asked for no images
        network.num_classes = classes  # what generate() and the metrics ask for labels by
    return network
