"""How the D step scores reals and fakes: one call over both, where that is the same model.

One call on ``cat([real, fake])`` launches each of D's kernels once per D update instead of
twice, and runs spectral norm's power iteration once instead of twice (the form BigGAN's
reference code trains with). It is the same model only when D scores each image on its own:
BatchNorm normalises with the statistics of the whole batch it is given, so one call would
normalise reals and fakes together, and a module with running statistics would update them
once instead of twice. Such a D keeps two calls. A plugin module whose output depends on the
rest of its batch in another way (minibatch standard deviation, …) says so with a class
attribute ``batch_dependent = True``.
"""

from __future__ import annotations

import torch
from torch import nn

from ganparts.blocks.conditional import call


def batch_dependent(network: nn.Module) -> bool:
    """Whether any module of ``network`` scores an image depending on the rest of its batch, or
    keeps running statistics that one call would update differently from two."""
    return any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)  # BatchNorm1d/2d/3d, SyncBatchNorm, conditional BatchNorm's inner one
        or getattr(m, "track_running_stats", False)  # InstanceNorm with running statistics
        or getattr(m, "batch_dependent", False)
        for m in network.modules()
    )


def score(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    real_labels: torch.Tensor | None = None,
    fake_labels: torch.Tensor | None = None,
    joint: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(D(real), D(fake))``, with their labels for a class-conditional D.

    ``joint``: in one call on the concatenated batch (labels concatenated alike), the logits
    split after it; else in two calls.
    """
    if not joint:
        return call(discriminator, real, real_labels), call(discriminator, fake, fake_labels)
    labels = None if real_labels is None else torch.cat([real_labels, fake_labels])
    logits = call(discriminator, torch.cat([real, fake]), labels)
    return logits.split([real.shape[0], fake.shape[0]])
