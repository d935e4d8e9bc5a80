"""The spec's augmentations of D's inputs, and their adaptive strength (ADA).

:class:`Augmentation` applies ``spec.augment`` in order to every image D sees. Each block
augments an image with probability ``p · strength``; ``strength`` is 1 unless
``train.ada_target`` is set, in which case it starts at 0 and follows StyleGAN2-ADA's
heuristic (Karras et al. 2020, arXiv:2006.06676): every ``train.ada_interval`` steps,
``r = E[sign(D(real))]`` over the real logits since the last adjustment; when D is more
confident than the target (overfitting) the strength rises, otherwise it falls, by
``ada_interval / ada_ramp`` per adjustment, clamped to [0, 1].

Strength and statistics are buffers on the device: nothing here syncs with the host, and
checkpoints save them (see :mod:`ganparts.training.state`).
"""

from __future__ import annotations

import torch
from torch import nn

from ganparts.spec.experiment import Experiment
from ganparts.spec.registry import Registry
from ganparts.training import distributed
from ganparts.training.distributed import SINGLE, Ranks


class Augmentation(nn.Module):
    """``spec.augment`` as one module: ``augmentation(images)`` augments a batch for D.

    Args:
        spec: the experiment (its ``augment`` list and ``train.ada_*`` fields).
        registry: builds the augment blocks.
        ranks: under DDP, every rank adapts to the statistics of all of them.
    """

    def __init__(self, spec: Experiment, *, registry: Registry, ranks: Ranks = SINGLE) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(registry.create("augment", block) for block in spec.augment)
        train = spec.train
        self.adaptive = bool(self.blocks) and train.ada_target > 0
        self.target, self.interval, self.ranks = train.ada_target, train.ada_interval, ranks
        self.step_size = train.ada_interval / train.ada_ramp
        self.register_buffer("strength", torch.tensor(0.0 if self.adaptive else 1.0))
        # Sum of sign(D(real)) and number of real logits since the last adjustment.
        self.register_buffer("real_signs", torch.zeros(2))

    @property
    def enabled(self) -> bool:
        """Whether the spec lists any augmentation (without, D's inputs are left untouched)."""
        return bool(self.blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            images = block(images, self.strength)
        return images

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor) -> None:
        """Count the signs of D's logits on (augmented) real images, for the next adjustment."""
        if self.adaptive:
            signs = real_logits.detach().float().sign()
            self.real_signs[0] += signs.sum()
            self.real_signs[1] += signs.numel()  # a Python number: an argument of the kernel, not a copy to the device

    @torch.no_grad()
    def adjust(self, step: int) -> None:
        """After step ``step`` (counting from 1): move the strength when an interval is complete."""
        if not self.adaptive or step % self.interval:
            return
        signs, count = distributed.mean_over_ranks(self.real_signs, self.ranks).unbind()
        overfitting = (signs / count.clamp(min=1) - self.target).sign()  # +1: raise the strength, -1: lower it
        self.strength.add_(overfitting * self.step_size).clamp_(0, 1)
        self.real_signs.zero_()
