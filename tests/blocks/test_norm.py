import pytest
import torch
from torch import nn

from ganparts.blocks.norm import (
    BatchNormSpec, ConditionalBatchNorm2d, ConditionalBatchNormSpec, GroupNormSpec, conditional_norm, maybe_spectral_norm,
)


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


def test_conditional_batchnorm_with_one_class_is_batchnorm_with_an_affine():
    torch.manual_seed(0)
    plain, conditional = nn.BatchNorm2d(6), ConditionalBatchNorm2d(6, num_classes=1)
    gain, bias = torch.randn(6), torch.randn(6)
    with torch.no_grad():
        plain.weight.copy_(gain), plain.bias.copy_(bias)
        conditional.gain.weight[0].copy_(gain), conditional.bias.weight[0].copy_(bias)
    x = torch.randn(8, 6, 5, 5) * 3 + 1
    torch.testing.assert_close(conditional(x, torch.zeros(8, dtype=torch.long)), plain(x))
    torch.testing.assert_close(conditional(x), plain(x))  # one class: the labels may be left out
    torch.testing.assert_close(conditional.norm.running_mean, plain.running_mean)  # same statistics kept
    plain.eval(), conditional.eval()
    torch.testing.assert_close(conditional(x), plain(x))


def test_conditional_batchnorm_starts_as_batchnorm_and_looks_up_each_images_class():
    torch.manual_seed(0)
    norm = ConditionalBatchNorm2d(4, num_classes=3)
    x, labels = torch.randn(6, 4, 3, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    plain = nn.functional.batch_norm(x, None, None, training=True)
    torch.testing.assert_close(norm(x, labels), plain)  # gain 1, bias 0 for every class
    with torch.no_grad():
        norm.gain.weight.copy_(torch.tensor([1.0, 2.0, 3.0])[:, None].expand(3, 4))
        norm.bias.weight.copy_(torch.tensor([0.0, 10.0, 20.0])[:, None].expand(3, 4))
    out = norm(x, labels)
    expected = plain * torch.tensor([1.0, 2, 3, 1, 2, 3]).view(6, 1, 1, 1) + torch.tensor([0.0, 10, 20, 0, 10, 20]).view(6, 1, 1, 1)
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    assert norm.gain.weight.grad.abs().sum(1).gt(0).all()  # every class seen gets a gradient
    with pytest.raises(ValueError, match="over 3 classes needs the labels"):
        norm(x)


def test_only_batch_norms_have_a_class_conditional_form():
    assert conditional_norm(BatchNormSpec(momentum=0.2)) == {"kind": "conditional_batch", "momentum": 0.2}
    assert conditional_norm(ConditionalBatchNormSpec(momentum=0.3)) == {"kind": "conditional_batch", "momentum": 0.3}
    with pytest.raises(ValueError, match="norm 'group' has no class-conditional form"):
        conditional_norm(GroupNormSpec())


def test_embeddings_get_spectral_norm_only_when_asked():
    net = nn.Sequential(nn.Linear(3, 3), nn.Embedding(4, 3))
    maybe_spectral_norm(net, True)
    assert hasattr(net[0], "parametrizations") and not hasattr(net[1], "parametrizations")
    maybe_spectral_norm(net, True, layers=(nn.Embedding,))
    assert hasattr(net[1], "parametrizations")


def test_group_norm_with_groups_that_do_not_divide_the_channels_keeps_the_norm_contract(registry):
    """ganparts.testing's checker (the catalogue runs it on every norm's defaults): 3 groups, 8 or 16 channels."""
    from ganparts.testing import check_norm

    check_norm({"kind": "group", "groups": 3}, registry=registry)


def test_spectral_norm_skips_only_the_meta_device_s_initial_power_iterations():
    """Real weights start from torch's own 15 power iterations; meta builds (preflight) skip them, and torch is left as it was."""
    from torch import nn
    from torch.nn.utils.parametrizations import _SpectralNorm, spectral_norm

    from ganparts.blocks.norm import maybe_spectral_norm

    original = _SpectralNorm._power_method
    torch.manual_seed(0)
    ours = maybe_spectral_norm(nn.Linear(8, 6), True)
    torch.manual_seed(0)
    torchs = spectral_norm(nn.Linear(8, 6))
    for buffer in ("_u", "_v"):
        assert torch.equal(getattr(ours.parametrizations.weight[0], buffer), getattr(torchs.parametrizations.weight[0], buffer))
    with torch.device("meta"):
        meta = maybe_spectral_norm(nn.Linear(8, 6), True)
    assert meta.parametrizations.weight[0]._u.is_meta and meta.weight.shape == (6, 8)
    assert _SpectralNorm._power_method is original
