"""Exponential moving average of the generator's weights: the generator that samples, scores
and checkpoints use, with BatchNorm statistics of its own."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ganparts.analysis.inference import latents
from ganparts.blocks.conditional import call, class_cycle

# Latents that recompute the averaged generator's BatchNorm statistics: 4 × 256 estimate
# them to well within what the metrics resolve, in under half a second on 2 CPU cores.
CALIBRATION_BATCHES, CALIBRATION_BATCH_SIZE, CALIBRATION_SEED = 4, 256, 1000


class EMA:
    """Keeps ``shadow``, an eval-mode copy of ``model`` whose parameters trail the model's.

    The effective decay warms up as ``min(decay, (1 + t) / (10 + t))`` so that short runs
    are not dominated by their random initialisation. Buffers (BatchNorm statistics,
    spectral-norm vectors) are copied, not averaged. The copied BatchNorm statistics are the
    live generator's, which do not fit the averaged weights; :meth:`calibrated` replaces them
    with the shadow's own before it draws (BigGAN's "standing statistics"; "Tuning, round
    four" in docs/results.md measures what that is worth).
    """

    def __init__(self, model: nn.Module, *, decay: float, z_dim: int, num_classes: int = 0) -> None:
        self.decay, self.z_dim, self.num_classes = decay, z_dim, num_classes
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)
        self._shadow_params, self._live_params = list(self.shadow.parameters()), list(model.parameters())
        self._shadow_buffers, self._live_buffers = list(self.shadow.buffers()), list(model.buffers())
        self._batchnorms = [m for m in self.shadow.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        self._is_calibrated = False

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the shadow towards the model after optimiser step number ``step`` (1-based)."""
        decay = min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_(self._shadow_params, self._live_params, 1.0 - decay)
        if self._shadow_buffers:  # a generator without BatchNorm or spectral norm has none, and foreach refuses empty lists
            torch._foreach_copy_(self._shadow_buffers, self._live_buffers)
        self._is_calibrated = False

    def calibrated(self) -> nn.Module:
        """The shadow, its BatchNorm statistics recomputed for its own weights if they moved since.

        The statistics are averages over fixed latents (and every class in turn), so they
        depend on the weights alone: a resumed run computes the same, and the global RNG,
        the spectral-norm vectors and the training that follows are untouched.
        """
        if not self._is_calibrated:
            self._recompute_batchnorm_statistics()
            self._is_calibrated = True
        return self.shadow

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The calibrated shadow's state: what a checkpoint's ``generator_ema`` holds."""
        return self.calibrated().state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.shadow.load_state_dict(state)
        self._is_calibrated = False  # an older checkpoint holds the live generator's statistics

    @torch.no_grad()
    def _recompute_batchnorm_statistics(self) -> None:
        if not self._batchnorms:
            return
        device = next(self.shadow.parameters()).device
        momenta = [m.momentum for m in self._batchnorms]
        for m in self._batchnorms:  # only BatchNorm in train mode: spectral norm must not take a power-iteration step
            m.reset_running_stats()
            m.momentum = None  # a plain average over the calibration batches
            m.train()
        try:
            labels = class_cycle(CALIBRATION_BATCH_SIZE, self.num_classes, device=device) if self.num_classes else None
            for batch in range(CALIBRATION_BATCHES):
                call(self.shadow, latents(self.z_dim, CALIBRATION_BATCH_SIZE, seed=CALIBRATION_SEED + batch).to(device), labels)
        finally:
            for m, momentum in zip(self._batchnorms, momenta):
                m.momentum = momentum
                m.eval()
