"""Generation → features → every metric, with the held-out-vs-train floor beside it.

Images are featurised once (streamed, with a progress bar); FID, KID, IS and
precision/recall are then computed from the same float64 features. A class-conditional
generator is asked for every class equally often, and is also scored per class
(:data:`CLASS_METRICS`, see :mod:`ganparts.metrics.conditional`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

import json

from ganparts.analysis.inference import class_labels, latents, load_trained
from ganparts.blocks.conditional import call
from ganparts.data.images import ImageSet
from ganparts.data.sources import load_images
from ganparts.runs import checkpoints as ckpt
from ganparts.spec.registry import Registry
from ganparts.metrics.conditional import class_accuracy, per_class_fid
from ganparts.metrics.features import FeatureExtractor
from ganparts.metrics.fid import frechet_distance
from ganparts.metrics.inception_score import inception_score
from ganparts.metrics.kid import kernel_distance
from ganparts.metrics.precision_recall import precision_recall

DEFAULT_FEATURE = "mnist_cnn"
# The keys of every metrics dict, in the order of tables and JSON.
METRICS = ("fid", "kid_mean", "kid_std", "is_mean", "is_std", "precision", "recall")
# Added for class-conditional generators: accuracy on the requested classes, the mean of the
# per-class FIDs (and, as the list ``class_fids``, each class's).
CLASS_METRICS = ("class_accuracy", "class_fid")


@dataclass(frozen=True)
class FeatureSet:
    """Features (N, d) and classifier logits (N, classes) of one set of images, float64 on the CPU,
    and the images' classes (N,) where known: real digits' labels, or the classes a
    conditional generator was asked for."""

    features: torch.Tensor
    logits: torch.Tensor
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.features.shape[0]

    def first_classes(self, n: int) -> FeatureSet:
        """The images labelled below ``n`` (what a model of ``n`` classes is compared with)."""
        keep = self.labels < n
        return FeatureSet(self.features[keep], self.logits[keep], self.labels[keep])


@dataclass(frozen=True)
class RealReference:
    """A data source's real digits in feature space: the training split (what generated images
    are compared with) and the held-out split, as seen by ``extractor``."""

    source: str
    extractor: FeatureExtractor
    train: FeatureSet
    held_out: FeatureSet

    @functools.cached_property
    def floor(self) -> dict[str, float]:
        """Metrics of held-out vs training digits: what a generator as good as the data reaches."""
        return compare_features(self.train, self.held_out)

    def first_classes(self, n: int) -> RealReference:
        """This reference restricted to classes 0 … n − 1 (itself when that is all of them)."""
        if bool((self.train.labels < n).all()) and bool((self.held_out.labels < n).all()):
            return self
        return RealReference(self.source, self.extractor, self.train.first_classes(n), self.held_out.first_classes(n))


@torch.no_grad()
def featurise(extractor: FeatureExtractor, batches: Iterable[torch.Tensor], *, total: int, desc: str, progress: bool = True) -> FeatureSet:
    """Run ``extractor`` over image batches (in [-1, 1]) and collect float64 features and logits."""
    from tqdm.auto import tqdm

    features, logits = [], []
    with tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False, dynamic_ncols=True) as bar:
        for images in batches:
            f, y = extractor.features_and_logits(images)
            features.append(f.double().cpu())
            logits.append(y.double().cpu())
            bar.update(images.shape[0])
    return FeatureSet(torch.cat(features), torch.cat(logits))


def featurise_images(extractor: FeatureExtractor, data: ImageSet, *, batch_size: int = 1000, progress: bool = True, desc: str = "real") -> FeatureSet:
    images = data.to_float(next(extractor.parameters()).device)[0]
    batches = images.split(batch_size)
    found = featurise(extractor, batches, total=len(data), desc=f"featurising {desc}", progress=progress)
    return dataclasses.replace(found, labels=data.labels.cpu())


def featurise_generator(
    generator: nn.Module, extractor: FeatureExtractor, n: int, *, seed: int = 0, batch_size: int = 500, progress: bool = True
) -> FeatureSet:
    """Features of ``n`` images from ``generator``, on the same noise (and, for a conditional
    generator, the same classes: every class in turn) as ``ganparts sample --seed``."""
    device = next(generator.parameters()).device
    z, labels = latents(generator.z_dim, n, seed=seed), class_labels(generator, n)
    y_chunks = (None,) * len(z.split(batch_size)) if labels is None else [y.to(device) for y in labels.split(batch_size)]
    batches = (call(generator, chunk.to(device), y) for chunk, y in zip(z.split(batch_size), y_chunks))
    found = featurise(extractor, batches, total=n, desc="generating + featurising", progress=progress)
    return dataclasses.replace(found, labels=labels)


def compare_features(real: FeatureSet, fake: FeatureSet, *, seed: int = 0) -> dict[str, float]:
    """Every metric of ``fake`` against ``real`` (IS is of ``fake`` alone), keyed as :data:`METRICS`."""
    kid_mean, kid_std = kernel_distance(real.features, fake.features, seed=seed)
    is_mean, is_std = inception_score(fake.logits, seed=seed)
    precision, recall = precision_recall(real.features, fake.features, seed=seed)
    return {
        "fid": frechet_distance(real.features, fake.features),
        "kid_mean": kid_mean, "kid_std": kid_std,
        "is_mean": is_mean, "is_std": is_std,
        "precision": precision, "recall": recall,
    }


def real_reference(
    extractor: FeatureExtractor, source: str, *, registry: Registry, root: str | Path | None = None, download: bool = True, progress: bool = True
) -> RealReference:
    """Features of ``source``'s train and test splits (the held-out floor is computed when first read)."""
    train = load_images(source, split="train", root=root, download=download, registry=registry)
    test = load_images(source, split="test", root=root, download=download, registry=registry)
    train_features = featurise_images(extractor, train, progress=progress, desc="training split")
    held_out = featurise_images(extractor, test, progress=progress, desc="held-out split")
    return RealReference(train.source, extractor, train_features, held_out)


def load_extractor(
    source: str, *, registry: Registry, kind: str = DEFAULT_FEATURE, root=None, download: bool = True, device="cpu"
) -> FeatureExtractor:
    """The registered feature extractor ``kind`` for data ``source``, in eval mode on ``device``."""
    extractor = registry.create("feature", {"kind": kind}, source=source, registry=registry, root=root, download=download, device=device)
    return extractor.eval().requires_grad_(False)


def compare_classes(real: FeatureSet, fake: FeatureSet, num_classes: int) -> dict:
    """:data:`CLASS_METRICS` of ``fake`` (whose labels are the classes asked for) against
    ``real``, plus ``class_fids``, the FID of each class."""
    fids = per_class_fid(real.features, real.labels, fake.features, fake.labels, num_classes)
    known = [f for f in fids if not math.isnan(f)]
    return {
        "class_accuracy": class_accuracy(fake.logits, fake.labels),
        "class_fid": sum(known) / len(known) if known else float("nan"),
        "class_fids": fids,
    }


def evaluate_generator(generator: nn.Module, reference: RealReference, *, n: int = 5000, seed: int = 0, progress: bool = True) -> dict:
    """Every metric of ``n`` generated images against the reference's training split; for a
    class-conditional generator (every class asked for equally often), against the digits of
    its classes, with :func:`compare_classes` added."""
    fake = featurise_generator(generator, reference.extractor, n, seed=seed, progress=progress)
    classes = getattr(generator, "num_classes", 0)
    if not classes:
        return compare_features(reference.train, fake, seed=seed)
    reference = reference.first_classes(classes)
    return compare_features(reference.train, fake, seed=seed) | compare_classes(reference.train, fake, classes)


def evaluate_run(
    path: str | Path, *, registry: Registry, n: int = 5000, seed: int = 0, feature: str = DEFAULT_FEATURE,
    device: torch.device | str = "cpu", progress: bool = True,
) -> dict:
    """Evaluate the EMA generator of a run's newest checkpoint (or of a checkpoint directory).

    Returns a JSON-able report: the metrics of ``n`` generated images against the training
    split (``generated``) and of the held-out split against it (``held_out_floor``); for a
    class-conditional run both with :data:`CLASS_METRICS` and ``class_fids``.
    """
    gan = load_trained(path, device=device, registry=registry)
    state = json.loads((gan.checkpoint / ckpt.STATE).read_text(encoding="utf-8"))
    source = state.get("data_source", gan.spec.data.source)
    data = gan.spec.data
    extractor = load_extractor(source, kind=feature, root=data.root, download=data.download, device=device, registry=registry)
    reference = real_reference(extractor, source, root=data.root, download=data.download, registry=registry, progress=progress)
    generated = evaluate_generator(gan.generator, reference, n=n, seed=seed, progress=progress)
    floor = reference.floor
    if gan.num_classes:  # the held-out digits with their true labels are the conditional floor
        reference = reference.first_classes(gan.num_classes)
        floor = reference.floor | compare_classes(reference.train, reference.held_out, gan.num_classes)
    return {
        "run": str(path),
        "checkpoint": str(gan.checkpoint),
        "step": gan.step,
        "spec_name": gan.spec.name,
        "data_source": reference.source,
        "feature": feature,
        "seed": seed,
        "num_classes": gan.num_classes,
        "generated": {"n": n} | generated,
        "held_out_floor": {"n": len(reference.held_out)} | floor,
        "reference": {"split": "train", "n": len(reference.train)},
    }
