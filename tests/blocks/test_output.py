"""G's output layer: tanh forwards; backwards, a floor under its slope where tanh saturates."""

import torch
from torch import nn

from ganparts.blocks.output import FlooredTanh, image_output


def test_forward_is_tanh_and_the_slope_never_falls_below_the_floor():
    x = torch.linspace(-8, 8, 161, dtype=torch.float64, requires_grad=True)
    y = FlooredTanh(0.05)(x)
    torch.testing.assert_close(y, torch.tanh(x))
    y.sum().backward()
    slope = 1 - torch.tanh(x.detach()) ** 2
    torch.testing.assert_close(x.grad, slope.clamp_min(0.05))
    assert x.grad[0] == x.grad[-1] == 0.05 and x.grad[80] == 1  # saturated ends pass the floor; the middle tanh's own slope


def test_the_floor_carries_the_downstream_gradient():
    x = torch.full((3,), -6.0, requires_grad=True)  # a blank pixel, deep in the saturation
    (FlooredTanh(0.1)(x) * torch.tensor([1.0, -2.0, 3.0])).sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([0.1, -0.2, 0.3]))


def test_a_floor_of_zero_is_plain_tanh():
    assert type(image_output(0.0)) is nn.Tanh
    assert isinstance(image_output(0.05), FlooredTanh) and image_output(0.05).slope_floor == 0.05
