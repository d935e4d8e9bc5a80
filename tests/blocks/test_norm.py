import torch
from torch import nn

from ganparts.blocks.norm import maybe_spectral_norm


def test_spectral_norm_gives_unit_largest_singular_value():
    torch.manual_seed(0)
    net = maybe_spectral_norm(nn.Sequential(nn.Linear(20, 30), nn.Conv2d(3, 8, 3), nn.ConvTranspose2d(8, 4, 4)), True)
    net.train()
    x = (torch.randn(2, 20),)
    for _ in range(30):  # power iterations run on each training forward
        net[0](*x)
        net[1](torch.randn(1, 3, 5, 5))
        net[2](torch.randn(1, 8, 3, 3))
    for layer in net:
        w = layer.weight
        matrix = (w.transpose(0, 1) if isinstance(layer, nn.ConvTranspose2d) else w).flatten(1)
        assert abs(torch.linalg.matrix_norm(matrix, ord=2).item() - 1.0) < 1e-3


def test_spectral_norm_off_changes_nothing_and_on_renames_keys():
    plain = maybe_spectral_norm(nn.Linear(4, 4), False)
    assert "weight" in plain.state_dict()
    normed = maybe_spectral_norm(nn.Linear(4, 4), True)
    assert "parametrizations.weight.original" in normed.state_dict()


def test_spectral_norm_is_not_applied_twice():
    layer = maybe_spectral_norm(maybe_spectral_norm(nn.Linear(4, 4), True), True)
    assert len(layer.parametrizations.weight) == 1
