"""G's output layer: ``tanh``, with an optional floor under the slope it passes back.

Where ``tanh`` saturates its slope vanishes: an image G has pushed to blank (every pre-tanh
value −5 or below, slope ≤ 2 × 10⁻⁴) no longer hears D say that it is fake. A conditional G
fell into that in 4 of 15 runs, one class at a time (docs/results.md, "The lost class"). With a
floor, the forward pass is ``tanh`` unchanged, but backwards the slope is never below
``slope_floor`` (a straight-through gradient where ``tanh`` is flat), so the class can return.
It is not enough on its own: with hinge loss, D stops pushing blank fakes down, and G is drawn
back to blank; the conditional spec uses the non-saturating loss for that.
"""

from __future__ import annotations

import torch
from torch import nn


class _FlooredTanhFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, slope_floor: float) -> torch.Tensor:
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        ctx.slope_floor = slope_floor
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y).clamp_min(ctx.slope_floor), None


class FlooredTanh(nn.Module):
    """``tanh(x)``, whose gradient is ``max(1 − tanh(x)², slope_floor)``."""

    def __init__(self, slope_floor: float) -> None:
        super().__init__()
        self.slope_floor = slope_floor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _FlooredTanhFunction.apply(x, self.slope_floor)

    def extra_repr(self) -> str:
        return f"slope_floor={self.slope_floor:g}"


def image_output(slope_floor: float) -> nn.Module:
    """The last layer of a generator: :class:`FlooredTanh`, or plain ``nn.Tanh`` for a floor of 0."""
    return FlooredTanh(slope_floor) if slope_floor else nn.Tanh()
