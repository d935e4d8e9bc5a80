"""Start the generator as bright on average as the training images (``train.match_data_brightness``).

A new generator's images have a mean brightness set by the random weights of its last layer
(the features before it are positive ReLU outputs, so the sum of its weights sets the sign).
With some seeds the first fakes are bright where MNIST is mostly black; D then tells fakes
from reals by brightness alone from step 1, every fake gets the same gradient, and G can end
at a single shape (docs/results.md, "Why seed 2 collapses"). Shifting the bias of G's last
convolution once, before training, takes that cue away.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from ganparts.analysis.inference import latents
from ganparts.blocks.conditional import call, class_cycle

log = logging.getLogger("ganparts")
PROBE = 256  # latents the shift is measured on
EDGE = 0.999  # atanh is infinite at ±1


@torch.no_grad()
def match_data_brightness(generator: nn.Module, target_mean: float, *, z_dim: int, seed: int, num_classes: int = 0) -> bool:
    """Shift the bias of the last convolution ``generator`` runs so that its mean image (on
    :data:`PROBE` latents) is ``target_mean``; assumes the image is ``tanh`` of that convolution.

    The latents come from their own seeded generator and every buffer (BatchNorm statistics,
    spectral norm's vectors) is put back, so training draws and starts exactly as without it.
    Returns False, changing nothing, when the generator runs no convolution with a bias.
    """
    device = next(generator.parameters()).device
    buffers = {name: b.clone() for name, b in generator.named_buffers()}
    ran: list[nn.Conv2d] = []
    hooks = [m.register_forward_hook(lambda m, *_: ran.append(m)) for m in generator.modules() if isinstance(m, nn.Conv2d)]
    try:
        labels = class_cycle(PROBE, num_classes, device=device) if num_classes else None
        images = call(generator, latents(z_dim, PROBE, seed=seed).to(device), labels)
    finally:
        for hook in hooks:
            hook.remove()
        for name, b in generator.named_buffers():
            b.copy_(buffers[name])
    if not ran or ran[-1].bias is None:
        log.warning("train.match_data_brightness: the generator ends in no convolution with a bias; left as it is")
        return False
    before = torch.atanh(images.clamp(-EDGE, EDGE)).mean()
    ran[-1].bias -= before - torch.atanh(torch.tensor(target_mean, device=device).clamp(-EDGE, EDGE))
    return True
