"""The feature "network" handed to torchmetrics when features were already computed."""

from __future__ import annotations

import torch
from torch import nn


class PrecomputedFeatures(nn.Module):
    """Returns its input: (N, ``num_features``) features computed once for every metric.

    torchmetrics' FID/KID/IS take a custom feature ``nn.Module``; giving them this one
    lets one featurisation pass over 5,000 images serve all metrics.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        assert features.dim() == 2 and features.shape[1] == self.num_features, (
            f"expected (N, {self.num_features}) features, got {tuple(features.shape)}"
        )
        return features
