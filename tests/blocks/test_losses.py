import pytest
import torch
from torch import nn

from ganparts.blocks import losses

REAL = torch.tensor([2.0, 0.5, -1.0])
FAKE = torch.tensor([-2.0, 0.0, 1.5])


def test_hinge_by_hand():
    # relu(1 - r) = [0, .5, 2] → 2.5/3 ; relu(1 + f) = [0, 1, 2.5] → 3.5/3
    assert losses.hinge_d_loss(REAL, FAKE).item() == pytest.approx(6.0 / 3)
    assert losses.hinge_g_loss(FAKE).item() == pytest.approx(0.5 / 3)


def test_non_saturating_by_hand():
    sp = lambda x: torch.log1p(torch.exp(torch.tensor(x))).item()  # noqa: E731
    expected_d = (sp(-2.0) + sp(-0.5) + sp(1.0)) / 3 + (sp(-2.0) + sp(0.0) + sp(1.5)) / 3
    assert losses.ns_d_loss(REAL, FAKE).item() == pytest.approx(expected_d, rel=1e-6)
    assert losses.ns_g_loss(FAKE).item() == pytest.approx((sp(2.0) + sp(0.0) + sp(-1.5)) / 3, rel=1e-6)


def test_wasserstein_by_hand():
    assert losses.wasserstein_d_loss(REAL, FAKE).item() == pytest.approx(-0.5 / 3 - 1.5 / 3)
    assert losses.wasserstein_g_loss(FAKE).item() == pytest.approx(0.5 / 3)


def test_least_squares_by_hand():
    # 0.5·mean((r-1)²) = 0.5·(1 + .25 + 4)/3 ; 0.5·mean(f²) = 0.5·(4 + 0 + 2.25)/3
    assert losses.lsgan_d_loss(REAL, FAKE).item() == pytest.approx(0.5 * 5.25 / 3 + 0.5 * 6.25 / 3)
    assert losses.lsgan_g_loss(FAKE).item() == pytest.approx(0.5 * (9 + 1 + 0.25) / 3)


def test_gradient_penalty_is_zero_for_unit_gradient_linear_critic():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1, bias=False), nn.Flatten(0))
    with torch.no_grad():
        critic[1].weight.copy_(torch.randn(1, 12))
        critic[1].weight.div_(critic[1].weight.norm())
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    assert losses.gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic[1].weight.mul_(3)  # ‖∇‖ = 3 → (3 - 1)² = 4
    assert losses.gradient_penalty(critic, real, fake).item() == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_reaches_the_critic_weights():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1), nn.Flatten(0))
    losses.gradient_penalty(critic, torch.randn(3, 4), torch.randn(3, 4)).backward()
    assert critic[1].weight.grad is not None and critic[1].weight.grad.abs().sum() > 0


def test_wgan_gp_loss_carries_its_penalty(registry):
    loss = registry.create("loss", {"kind": "wgan-gp", "gp_weight": 5.0})
    assert len(loss.penalties) == 1 and loss.penalties[0].weight == 5.0
    assert registry.create("loss", {"kind": "wgan-gp", "gp_weight": 0}).penalties == ()
    assert registry.create("loss", {"kind": "hinge"}).penalties == ()


@pytest.mark.parametrize("kind, spec", [("loss", {"kind": "wgan-gp", "gp_weight": 0}), ("penalty", {"kind": "gp", "target": 0.5})])
def test_other_settings_keep_the_contract(kind, spec, registry):
    """ganparts.testing's checkers (the catalogue runs them on every loss and penalty's defaults)."""
    from ganparts.testing import check_block

    results = check_block(kind, spec, registry=registry)
    assert not [r for r in results if r.failed]
