"""Generator and discriminator families, and building both from an experiment spec."""

from __future__ import annotations

from torch import nn

from ganparts.spec.registry import Registry

IMAGE_SHAPE = (1, 28, 28)  # MNIST: channels, height, width


def build_generator(spec, registry: Registry | None = None) -> nn.Module:
    """The generator ``spec.model.generator`` describes (``spec`` is an :class:`~ganparts.spec.experiment.Experiment`)."""
    return _build("generator", spec, registry, z_dim=spec.model.z_dim)


def build_discriminator(spec, registry: Registry | None = None) -> nn.Module:
    """The discriminator ``spec.model.discriminator`` describes."""
    return _build("discriminator", spec, registry)


def _build(kind: str, spec, registry: Registry | None, **context) -> nn.Module:
    from ganparts.plugins import default_registry
    from ganparts.errors import SpecError

    registry = registry or default_registry()
    try:
        return registry.create(kind, getattr(spec.model, kind), image_shape=IMAGE_SHAPE, registry=registry, **context)
    except ValueError as err:  # a combination the spec's types could not rule out (e.g. heads vs width)
        raise SpecError([(f"model.{kind}", str(err))]) from None
