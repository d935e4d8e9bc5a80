"""Building what the contract checks look at: a block's spec, tiny experiments and networks."""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator, ParamSpec, TypeVar

import torch
from annotated_types import Ge
from pydantic import BaseModel
from torch import nn

from ganparts.data.images import image_shape
from ganparts.errors import one_line
from ganparts.models import build_discriminator, build_generator
from ganparts.spec.experiment import Experiment
from ganparts.spec.files import load_spec
from ganparts.spec.registry import Entry, Registry

BlockLike = str | dict | BaseModel  # a registered name, a spec as data, or a spec model instance
DATA_SOURCE = "mnist-5k"  # ships inside a PyPI package: every check and fixture runs offline
WIDTHS = (8, 16, 32, 64)  # tiny first; wider only for a block that refuses narrow layers (e.g. several heads)
P = ParamSpec("P")
R = TypeVar("R")
_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)


def registry_or_default(registry: Registry | None) -> Registry:
    if registry is not None:
        return registry
    from ganparts.plugins import default_registry

    return default_registry()


def block_data(block: BlockLike) -> dict[str, Any]:
    """``block`` as spec data: ``"axial"`` → ``{"kind": "axial"}``."""
    if isinstance(block, BaseModel):
        return block.model_dump()
    if isinstance(block, str):
        return {"kind": block}
    return dict(block)


def block_spec(kind: str, block: BlockLike, registry: Registry, **defaults: Any) -> tuple[Entry, BaseModel]:
    """The registry entry of ``block`` and its validated spec; ``defaults`` fill fields ``block`` leaves out."""
    data = block_data(block)
    entry = registry.get(kind, data.get("kind", ""))
    spec = entry.spec.model_validate(defaults | data)
    return entry, spec


def tiny_network_spec(kind: str, family: str, registry: Registry, *, width: int = WIDTHS[0], **fields: Any) -> dict[str, Any]:
    """Spec data of a ``family`` network ``width`` wide, or as narrow as its spec allows."""
    spec = registry.get(kind, family).spec
    data: dict[str, Any] = {"kind": family}
    field = spec.model_fields.get("width")
    if field is not None:
        data["width"] = max([width, *(m.ge for m in field.metadata if isinstance(m, Ge))])
    return data | fields


def tiny_experiment(
    registry: Registry,
    *,
    generator: dict | None = None,
    discriminator: dict | None = None,
    family: str = "dcgan",
    width: int = WIDTHS[0],
    **sections: Any,
) -> Experiment:
    """A validated experiment at tiny size: ``family`` networks ``width`` wide (``generator`` /
    ``discriminator`` fields on top), batch 4, z_dim 8, on the offline dataset; ``sections``
    are top-level spec sections (``loss=``, ``penalties=``, ``augment=``, ``train=``)."""
    generator_family = (generator or {}).get("kind", family)
    discriminator_family = (discriminator or {}).get("kind", family)
    data = {
        "name": "contract-check",
        "data": {"source": DATA_SOURCE, "batch_size": 4},
        "model": {
            "z_dim": 8,
            "generator": tiny_network_spec("generator", generator_family, registry, width=width, **_fields(generator)),
            "discriminator": tiny_network_spec("discriminator", discriminator_family, registry, width=width, **_fields(discriminator)),
        },
        **sections,
    }
    return load_spec(data, registry=registry)


def _fields(network: dict | None) -> dict[str, Any]:
    return {k: v for k, v in (network or {}).items() if k != "kind"}


def narrowest(registry: Registry, **kwargs: Any) -> tuple[Experiment, nn.Module, nn.Module]:
    """:func:`tiny_experiment` and its :func:`networks` at the narrowest of :data:`WIDTHS` at which
    they build: a block may refuse layers too narrow for its settings with ``ValueError``
    (several heads need several channels each), which is its right, not a broken contract."""
    for width in WIDTHS:
        experiment = tiny_experiment(registry, width=width, **kwargs)
        try:
            return (experiment, *networks(experiment, registry))
        except ValueError:
            if width == WIDTHS[-1]:
                raise
    raise AssertionError("unreachable")


def networks(spec: Experiment, registry: Registry) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator ``spec`` describes, in training mode."""
    shape = image_shape(spec.data.source, registry)
    return (
        build_generator(spec, registry=registry, image_shape=shape).train(),
        build_discriminator(spec, registry=registry, image_shape=shape).train(),
    )


def forward_backward(generator: nn.Module, discriminator: nn.Module, spec: Experiment, *, batch: int = 2) -> torch.Tensor:
    """D's logits on G's images, backpropagated into both networks' weights; returns the images."""
    z = torch.randn(batch, spec.model.z_dim)
    images = generator(z)
    logits = discriminator(images)
    assert logits.shape == (batch,), f"the discriminator returned logits of shape {tuple(logits.shape)}, not ({batch},)"
    (logits.mean() + discriminator(images.detach() * 0.5).mean()).backward()
    return images


def missing_gradients(*modules: nn.Module) -> list[str]:
    """Names of trainable parameters of ``modules`` whose gradient is missing or not finite."""
    return [
        name for module in modules for name, p in module.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())
    ]


def weight_layers(module: nn.Module) -> dict[str, nn.Module]:
    """Convolutions and linear layers of ``module``, by qualified name."""
    return {name: layer for name, layer in module.named_modules() if isinstance(layer, _WEIGHTED)}


def without_spectral_norm(module: nn.Module) -> list[str]:
    """Weight layers of ``module`` whose weight carries no spectral-norm parametrization."""
    return [
        name or type(layer).__name__ for name, layer in weight_layers(module).items()
        if not hasattr(layer, "parametrizations") or "weight" not in layer.parametrizations
    ]


def raw_weights(module: nn.Module, *, ignore: tuple[str, ...] = ("gamma",)) -> list[str]:
    """Parameters of two or more dimensions that live outside any conv/linear layer:
    ``maybe_spectral_norm`` cannot reach them."""
    inside = {id(p) for layer in weight_layers(module).values() for p in layer.parameters()}
    return [
        name for name, p in module.named_parameters()
        if p.dim() >= 2 and id(p) not in inside and name.rsplit(".", 1)[-1] not in ignore
    ]


def keeps_rng(check: Callable[P, R]) -> Callable[P, R]:
    """Run ``check`` on a copy of torch's global RNG state: checks seed it freely, and the
    test that calls them draws the same numbers afterwards as it would have without."""

    @functools.wraps(check)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with torch.random.fork_rng(devices=[]):
            return check(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def on_meta() -> Iterator[None]:
    """Build on the ``meta`` device, as ``ganparts validate`` and ``train`` do before anything is
    allocated; a builder that needs real numbers (``.item()``, data-dependent shapes) fails here."""
    try:
        with torch.device("meta"):
            yield
    except Exception as err:  # noqa: BLE001 — whatever the meta device makes a builder raise
        raise AssertionError(
            f"it does not build on the meta device, where ganparts validate and train build every block first: {one_line(err)}"
        ) from err
