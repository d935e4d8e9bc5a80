"""Inception Score (Salimans et al. 2016) with the MNIST classifier's softmax, through torchmetrics."""

from __future__ import annotations

import warnings

import torch
from torchmetrics.image.inception import InceptionScore

from ganparts.metrics.precomputed import PrecomputedFeatures


def inception_score(logits: torch.Tensor, *, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """exp(E KL(p(y|x) ‖ p(y))) from (N, classes) logits, in float64: (mean, std) over ``splits``.

    For MNIST it lies between 1 (one class, or no confident class) and 10 (every image
    confidently one digit, all ten equally often).
    """
    with warnings.catch_warnings():  # it warns that it keeps every feature: that is what we want here
        warnings.simplefilter("ignore", UserWarning)
        metric = InceptionScore(feature=PrecomputedFeatures(logits.shape[1]), splits=splits)
    metric.update(logits.double())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # torchmetrics shuffles before splitting
        mean, std = metric.compute()
    return mean.item(), std.item()
