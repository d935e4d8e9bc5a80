"""The one decision whether a spec can train here: made before anything is allocated or written.

``ganparts validate``, ``build`` and ``train`` and the app all call :func:`preflight`, so what
``validate`` accepts, ``train`` accepts too. The spec's own types and cross-field checks ran
when it was validated; this adds what needs the registry's blocks and the device:

- a class-conditional spec (``model.num_classes``) has families that support it and a data
  source with that many classes;
- every block builds (a family may refuse an image size, attention heads may not divide
  a layer's channels), checked on the ``meta`` device, so nothing is allocated;
- the precision, compile and cuda_graph options suit the loss and the machine;
- training fits in the device's free memory (:mod:`ganparts.training.resources`).
"""

from __future__ import annotations

import contextlib
import shutil
from typing import Iterator

import torch

from ganparts.blocks.losses import build_objective
from ganparts.data.images import image_shape, num_classes
from ganparts.errors import SpecError
from ganparts.models import build_discriminator, build_generator, supports_classes
from ganparts.spec.blocks import path_of
from ganparts.spec.experiment import Experiment
from ganparts.spec.registry import BlockBuildError, Registry
from ganparts.training.resources import ResourceEstimate, require_memory


def preflight(spec: Experiment, *, registry: Registry, device: torch.device, batch_size: int | None = None) -> ResourceEstimate:
    """Raise :class:`~ganparts.errors.SpecError` (naming the field) or
    :class:`~ganparts.training.resources.ResourceError` unless ``spec`` can train on ``device``.

    Args:
        batch_size: the images one process trains on per step (default ``data.batch_size``).

    Returns:
        the memory estimate, for the caller to show.
    """
    shape = image_shape(spec.data.source, registry)
    _check_classes(spec, registry)
    networks = []  # built once, on meta: the memory estimate below reads the same ones
    for kind, build in (("generator", build_generator), ("discriminator", build_discriminator)):
        with building(spec, f"model.{kind}"), torch.device("meta"):
            networks.append(build(spec, registry=registry, image_shape=shape))
    with building(spec, "loss"):
        _, penalties = build_objective(spec, registry)
    differentiating = [p for p in penalties if getattr(p, "input_gradients", True)]
    if spec.train.precision == "fp16" and differentiating:
        names = ", ".join(getattr(p, "label", "?") for p in differentiating)
        raise SpecError([(
            "train.precision",
            f"fp16 needs gradient scaling, which the inner gradient of D's input in penalty {names} does not get here; "
            "use bf16 or fp32",
        )])
    if spec.train.cuda_graph and penalties:
        names = ", ".join(getattr(p, "label", "?") for p in penalties)
        raise SpecError([("train.cuda_graph", f"does not capture the double backward of gradient penalty {names}; use false, or train.compile: true")])
    if spec.train.cuda_graph and device.type != "cuda":
        raise SpecError([("train.cuda_graph", f"needs a CUDA device, and this run's is {device.type}; use false (or --device cuda on a machine with a GPU)")])
    if spec.train.compile and device.type == "cpu" and not any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++")):
        raise SpecError([("train.compile", "torch.compile on CPU needs a C++ compiler (g++ or clang++) on PATH; none found")])
    return require_memory(spec, device, registry=registry, batch_size=batch_size, networks=tuple(networks))


@contextlib.contextmanager
def building(spec: Experiment, where: str) -> Iterator[None]:
    """Turn a block that fails to build into a :class:`SpecError` at that block's place in ``spec``.

    A builder's ``ValueError`` is a combination the spec's types could not rule out (attention
    heads that do not divide a layer's channels); anything else a builder raises is a bug in
    its block (:class:`BlockBuildError`), reported in one line naming the block and its plugin.
    ``where`` is the path used when the failing block cannot be found in ``spec``.
    """
    try:
        yield
    except BlockBuildError as err:
        raise SpecError([(path_of(spec, err.spec) or where, str(err))]) from err
    except ValueError as err:
        entry, block = getattr(err, "ganparts_block", (None, None))
        message = str(err)
        if entry is not None and not entry.builtin:
            message += f" ({entry.kind} {entry.name!r} {entry.origin()})"
        raise SpecError([(path_of(spec, block) or where, message)]) from err


def _check_classes(spec: Experiment, registry: Registry) -> None:
    """``model.num_classes`` needs families that condition on a class and labels that hold that many."""
    wanted = spec.model.num_classes
    if not wanted:
        return
    for kind in ("generator", "discriminator"):
        family = getattr(spec.model, kind)
        if not supports_classes(family):
            able = [name for name in registry.list(kind) if supports_classes(registry.get(kind, name).spec)]
            raise SpecError([(
                "model.num_classes",
                f"{wanted}, but the {kind} family {family.kind!r} does not support class conditioning; "
                f"use model.num_classes: 0 or a family that does ({', '.join(able) or 'none registered'})",
            )])
    available = num_classes(spec.data.source, registry)
    if wanted > available:
        raise SpecError([(
            "model.num_classes",
            f"{wanted}, but data source {spec.data.source!r} has {available} classes; use at most {available}"
            if available else f"{wanted}, but data source {spec.data.source!r} has no class labels to condition on; use 0",
        )])
