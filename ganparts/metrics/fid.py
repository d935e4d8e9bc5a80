"""Fréchet distance between feature distributions (FID, Heusel et al. 2017), through torchmetrics."""

from __future__ import annotations

import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from ganparts.metrics.precomputed import PrecomputedFeatures


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between two sets of (N, d) features, with means and covariances in float64.

    Features are computed once by the caller (see ganparts.metrics.evaluate), so torchmetrics
    gets a pass-through feature module instead of running the network again.
    """
    metric = FrechetInceptionDistance(feature=PrecomputedFeatures(real.shape[1]))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return metric.compute().item()
