"""The one decision whether a spec can train here: made before anything is allocated or written.

``ganparts validate``, ``build`` and ``train`` and the app all call :func:`preflight`, so what
``validate`` accepts, ``train`` accepts too. The spec's own types and cross-field checks ran
when it was validated; this adds what needs the registry's blocks and the device:

- every block builds (a family may refuse an image size, attention heads may not divide
  a layer's channels), checked on the ``meta`` device, so nothing is allocated;
- the precision and compile options suit the loss and the machine;
- training fits in the device's free memory (:mod:`ganparts.training.resources`).
"""

from __future__ import annotations

import shutil

import torch

from ganparts.blocks.losses import build_objective
from ganparts.data.images import image_shape
from ganparts.errors import SpecError
from ganparts.models import build_discriminator, build_generator
from ganparts.spec.experiment import Experiment
from ganparts.spec.registry import Registry
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
    for kind, build in (("generator", build_generator), ("discriminator", build_discriminator)):
        try:
            with torch.device("meta"):
                build(spec, registry=registry, image_shape=shape)
        except ValueError as err:  # a combination the spec's types cannot rule out (e.g. heads vs width)
            raise SpecError([(f"model.{kind}", str(err))]) from None
    _, penalties = build_objective(spec, registry)
    if spec.train.precision == "fp16" and penalties:
        raise SpecError([(
            "train.precision",
            "fp16 needs gradient scaling, which a gradient penalty's inner gradient does not get here; use bf16 or fp32",
        )])
    if spec.train.compile and device.type == "cpu" and not any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++")):
        raise SpecError([("train.compile", "torch.compile on CPU needs a C++ compiler (g++ or clang++) on PATH; none found")])
    return require_memory(spec, device, registry=registry, batch_size=batch_size)
