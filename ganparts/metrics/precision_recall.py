"""Improved precision and recall (Kynkäänniemi et al. 2019, arXiv:1904.06991).

Each set's support is the union of balls around its points, each with the radius to its
k-th nearest neighbour in the same set. Precision: the fraction of generated points inside
the real support (are samples realistic?). Recall: the fraction of real points inside the
generated support (is the real variety covered?). Distances come from ``torch.cdist`` on
row chunks, so memory stays bounded at ``chunk × N`` and there is no per-sample loop.
"""

from __future__ import annotations

import torch


def knn_radii(features: torch.Tensor, *, k: int = 3, chunk: int = 1024) -> torch.Tensor:
    """Distance from each point to its ``k``-th nearest other point in ``features``."""
    # k + 1: the nearest point to each point is itself, at distance 0.
    return torch.cat([torch.cdist(rows, features).kthvalue(k + 1, dim=1).values for rows in features.split(chunk)])


def inside_support(queries: torch.Tensor, support: torch.Tensor, radii: torch.Tensor, *, chunk: int = 1024) -> torch.Tensor:
    """For each query, whether it lies within ``radii[j]`` of some ``support[j]`` (bool, one per query)."""
    return torch.cat([(torch.cdist(rows, support) <= radii).any(dim=1) for rows in queries.split(chunk)])


def precision_recall(real: torch.Tensor, fake: torch.Tensor, *, k: int = 3, seed: int = 0) -> tuple[float, float]:
    """Improved precision and recall of ``fake`` features against ``real`` ones, in float64.

    Radii shrink as a set grows, so both sets are cut to the size of the smaller one
    (a seeded random subset) before the supports are built.
    """
    n = min(real.shape[0], fake.shape[0])
    rng = torch.Generator().manual_seed(seed)
    real = real[torch.randperm(real.shape[0], generator=rng)[:n].to(real.device)].double()
    fake = fake[torch.randperm(fake.shape[0], generator=rng)[:n].to(fake.device)].double()
    precision = inside_support(fake, real, knn_radii(real, k=k)).double().mean()
    recall = inside_support(real, fake, knn_radii(fake, k=k)).double().mean()
    return precision.item(), recall.item()
