"""Feature extractors for the metrics (registry kind ``feature``) and the built-in MNIST one.

ImageNet Inception weights cannot be downloaded here and describe the wrong images
anyway, so ganparts trains a small MNIST classifier once per data source — a fixed
seed, deterministic algorithms, a fixed number of steps — and caches its weights as
safetensors under ``$GANPARTS_FEATURE_CACHE`` (default
``$XDG_CACHE_HOME/ganparts/features``). Its penultimate activations are the features
of FID, KID and precision/recall; its softmax is the Inception Score's classifier.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import time
from pathlib import Path
from typing import Iterator, Literal

import torch
import torch.nn.functional as F
from einops import rearrange
from pydantic import BaseModel, ConfigDict
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from ganparts.errors import first_line
from ganparts.data.images import ImageSet, image_shape
from ganparts.data.sources import load_images
from ganparts.spec.registry import Registry
from ganparts.hookspecs import hookimpl
from ganparts.runs.atomic import atomic_write

log = logging.getLogger("ganparts")

MNIST_CNN_VERSION = 1  # bump when the network or its training changes: old caches are then ignored
TRAIN_SEED = 0
TRAIN_STEPS = 600
TRAIN_BATCH = 128


class FeatureExtractor(nn.Module):
    """Base of feature extractors: images in [-1, 1], shaped (N, C, H, W) as their dataset declares, to features and class logits.

    ``forward`` returns the (N, ``num_features``) features, so an extractor can also be handed
    to torchmetrics as its ``feature`` module. Subclasses implement :meth:`features_and_logits`.
    """

    num_features: int
    num_classes: int

    def features_and_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(images)[0]


class MnistCNN(FeatureExtractor):
    """Two conv stages (28→14→7 for MNIST) and a 128-unit penultimate layer; no batch norm, so eval is exact."""

    num_features = 128
    num_classes = 10

    def __init__(self, *, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        channels, height, width = self.image_shape = tuple(image_shape)
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * (height // 4) * (width // 4), self.num_features), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(self.num_features, self.num_classes)

    def features_and_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert images.dim() == 4 and images.shape[1:] == self.image_shape, f"expected (N, {self.image_shape}) images, got {tuple(images.shape)}"
        features = self.body(images)
        return features, self.head(self.dropout(features))


class MnistCnnSpec(BaseModel):
    """A small CNN trained on the run's data source (deterministic, cached); penultimate features, softmax for IS."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["mnist_cnn"] = "mnist_cnn"


# --- training ------------------------------------------------------------------------


@contextlib.contextmanager
def deterministic(seed: int) -> Iterator[None]:
    """Seeded, deterministic algorithms inside; the caller's RNG state and settings restored after."""
    previous = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous)


def random_affine(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image rotated (±10°), scaled (±10 %) and shifted (±2 px) at random: one batched grid_sample."""
    n = images.shape[0]
    uniform = lambda *shape: torch.rand(*shape, generator=generator, device=images.device) * 2 - 1  # noqa: E731
    angle, scale, shift = uniform(n) * math.radians(10), 1 + uniform(n) * 0.1, uniform(n, 2) * (2 * 2 / images.shape[-1])
    cos, sin = angle.cos() / scale, angle.sin() / scale
    theta = rearrange(torch.stack([cos, -sin, shift[:, 0], sin, cos, shift[:, 1]], dim=1), "n (r c) -> n r c", r=2)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    # Sample the image shifted to a 0 background, so pixels from outside the frame are background (-1).
    return F.grid_sample(images + 1, grid, align_corners=False) - 1


def train_mnist_cnn(
    train: ImageSet, *, seed: int = TRAIN_SEED, steps: int = TRAIN_STEPS, batch_size: int = TRAIN_BATCH,
    device: torch.device | str = "cpu",
) -> MnistCNN:
    """Train :class:`MnistCNN` on ``train``: same seed and data, same weights (on one machine).

    A fixed number of Adam steps with a linearly decaying learning rate and random affine
    augmentation; the step count, not the data size, sets the time it takes.
    """
    with deterministic(seed):
        model = MnistCNN(image_shape=train.image_shape).to(device).train()
        images, labels = train.to_float(device)
        rng = torch.Generator(device=device).manual_seed(seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / steps)
        for _ in range(steps):
            index = torch.randint(images.shape[0], (batch_size,), generator=rng, device=device)
            _, logits = model.features_and_logits(random_affine(images[index], rng))
            loss = F.cross_entropy(logits, labels[index])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    return model.eval().requires_grad_(False)


@torch.no_grad()
def accuracy(extractor: FeatureExtractor, data: ImageSet, *, batch_size: int = 1000) -> float:
    """Fraction of ``data`` the extractor's classifier labels correctly."""
    device = next(extractor.parameters()).device
    images, labels = data.to_float(device)
    predictions = torch.cat([extractor.features_and_logits(chunk)[1].argmax(1) for chunk in images.split(batch_size)])
    return (predictions == labels).float().mean().item()


# --- the cache -----------------------------------------------------------------------


def feature_cache_dir() -> Path:
    """``$GANPARTS_FEATURE_CACHE``, else ``$XDG_CACHE_HOME/ganparts/features`` (``~/.cache/ganparts/features``)."""
    if "GANPARTS_FEATURE_CACHE" in os.environ:
        return Path(os.environ["GANPARTS_FEATURE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ganparts" / "features"


def cache_path(source: str) -> Path:
    return feature_cache_dir() / f"mnist_cnn-{source}-v{MNIST_CNN_VERSION}.safetensors"


def save_weights(model: nn.Module, path: Path, metadata: dict[str, str]) -> None:
    """Write ``model``'s weights whole or not at all: other processes may load the cache meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, save({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, metadata=metadata))


def load_cached(path: Path, device: torch.device | str, *, image_shape: tuple[int, int, int]) -> MnistCNN | None:
    """The cached network, or None when the file is missing, unreadable or of another shape."""
    if not path.is_file():
        return None
    model = MnistCNN(image_shape=image_shape)
    try:
        model.load_state_dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, RuntimeError) as err:
        log.warning("ignoring unreadable feature-network cache %s (%s); training it again", path, first_line(err))
        return None
    return model.to(device).eval().requires_grad_(False)


def mnist_cnn(
    source: str, *, registry: Registry, root: str | Path | None = None, download: bool = True, device: torch.device | str = "cpu"
) -> MnistCNN:
    """The MNIST feature network for data ``source``: from the cache, or trained now and cached.

    Args:
        source: a dataset name (``mnist``, ``mnist-5k``; ``auto`` resolves to the one it loads).
        root, download: where full MNIST lives and whether it may be downloaded (see ganparts.data.sources).
    """
    if source == "auto":
        source = load_images(source, root=root, download=download, registry=registry).source
    path = cache_path(source)
    shape = image_shape(source, registry)
    model = load_cached(path, device, image_shape=shape)
    if model is not None:
        return model
    with training_lock(path):  # jobs that start cold together (compare --jobs K) train it once, not K times
        model = load_cached(path, device, image_shape=shape)  # another process may have written it meanwhile
        if model is None:
            train = load_images(source, root=root, download=download, registry=registry)
            log.info("training the MNIST feature network on %s (%d images, once; cached in %s)", source, len(train), path)
            start = time.perf_counter()
            model = train_mnist_cnn(train, device=device)
            seconds = time.perf_counter() - start
            held_out = accuracy(model, load_images(source, split="test", root=root, download=download, registry=registry))
            log.info("feature network: %.1f %% held-out accuracy after %.0f s", 100 * held_out, seconds)
            save_weights(model, path, {"source": source, "version": str(MNIST_CNN_VERSION), "held_out_accuracy": f"{held_out:.4f}"})
    return model


@contextlib.contextmanager
def training_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s ``.lock`` file (released when the process dies, too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@hookimpl
def ganparts_register(registry):
    registry.register(
        "feature",
        spec=MnistCnnSpec,
        builder=lambda s, *, source, registry, root=None, download=True, device="cpu": mnist_cnn(
            source, root=root, download=download, device=device, registry=registry
        ),
    )
