"""Metrics of a class-conditional generator: does it draw the class it is asked for, and how well?

- *conditional accuracy*: the share of generated images the feature network's classifier
  assigns to the class the generator was asked for (the held-out real digits' accuracy is
  the floor beside it);
- *per-class FID*: FID between the generated and the real images of each class, so a
  generator that draws good 1s and poor 8s shows it, where the overall FID averages it away.
"""

from __future__ import annotations

import torch

from ganparts.metrics.fid import frechet_distance


def class_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of images whose classifier ``logits`` (N, classes) pick their ``labels`` (N,)."""
    return (logits.argmax(1) == labels.to(logits.device)).double().mean().item()


def per_class_fid(
    real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor, fake_labels: torch.Tensor, num_classes: int
) -> list[float]:
    """FID of each class c in 0 … num_classes − 1: real features of class c against generated
    features of class c (float ``nan`` for a class either side lacks; FID needs two images)."""
    scores = []
    for c in range(num_classes):  # one FID per class: a handful of matrix computations, not a per-image loop
        r, f = real[real_labels == c], fake[fake_labels == c]
        scores.append(frechet_distance(r, f) if min(len(r), len(f)) >= 2 else float("nan"))
    return scores
