"""Kernel distance between feature distributions (KID, Bińkowski et al. 2018), through torchmetrics."""

from __future__ import annotations

import warnings

import torch
from torchmetrics.image.kid import KernelInceptionDistance

from ganparts.metrics.precomputed import PrecomputedFeatures


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID (mean, std over ``subsets`` random subsets) between two sets of (N, d) features, in float64.

    The unbiased MMD² with the cubic polynomial kernel; ``subset_size`` shrinks to the smaller
    set when needed. ``seed`` fixes the subsets without touching the caller's RNG.
    """
    size = min(subset_size, real.shape[0], fake.shape[0])
    with warnings.catch_warnings():  # it warns that it keeps every feature: that is what we want here
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=PrecomputedFeatures(real.shape[1]), subsets=subsets, subset_size=size)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return mean.item(), std.item()
