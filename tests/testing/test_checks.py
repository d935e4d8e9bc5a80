"""ganparts.testing's checkers fail a planted broken block with a clear reason (and pass the
built-ins: tests/test_catalogue.py runs them on every registered block)."""

from __future__ import annotations

from typing import Literal

import pytest
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ganparts.blocks.attention import AttentionSpec, SelfAttention2d
from ganparts.blocks.augment import AugmentSpec
from ganparts.blocks.losses import AdversarialLoss, Penalty, hinge_d_loss, hinge_g_loss, ns_d_loss, ns_g_loss
from ganparts.models.dcgan import DCGANDiscriminator, DCGANDiscriminatorSpec, DCGANGenerator, DCGANGeneratorSpec
from ganparts.plugins import load_plugins
from ganparts.testing import (
    ContractError, check_attention_block, check_augment, check_family, check_loss, check_norm, check_penalty,
)


@pytest.fixture
def registry():
    """The built-ins only, for planting broken blocks beside them."""
    return load_plugins(autoload=False).registry


def failed(results) -> dict[str, str]:
    return {r.check: r.reason for r in results if r.failed}


class PlantedSpec(AttentionSpec):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["planted"] = "planted"


def plant(registry, kind, builder, spec=PlantedSpec):
    registry.register(kind, spec=spec, builder=builder)
    return spec.model_fields["kind"].default


# --- attention -----------------------------------------------------------------------


class LiftedGamma(SelfAttention2d):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with torch.no_grad():
            self.gamma.fill_(0.5)


class UnnormalisedMap(SelfAttention2d):
    def keep_map(self, attn, key_grid):
        super().keep_map(attn * 2, key_grid)  # rows now sum to 2


class SilentBlock(SelfAttention2d):
    def keep_map(self, attn, key_grid):
        pass


def test_attention_gamma_that_does_not_start_at_zero(registry):
    name = plant(registry, "attention", lambda s, *, channels: LiftedGamma(channels=channels))
    with pytest.raises(ContractError) as raised:
        check_attention_block(name, registry=registry)
    reasons = failed(raised.value.results)
    assert list(reasons) == ["gamma starts at 0"]
    assert reasons["gamma starts at 0"] == "gamma starts at 0.5, not 0: a new block must start as the identity (return x + self.gamma * out)"
    assert str(raised.value).startswith("attention:planted breaks the block contract:\n  gamma starts at 0: gamma starts at 0.5")


def test_attention_map_whose_rows_do_not_sum_to_one(registry):
    name = plant(registry, "attention", lambda s, *, channels: UnnormalisedMap(channels=channels))
    reasons = failed(check_attention_block(name, registry=registry, raise_on_failure=False))
    assert list(reasons) == ["map rows sum to 1"]
    assert reasons["map rows sum to 1"].startswith("the rows of the map sum to between 2 and 2, not 1")


def test_attention_block_that_records_no_map(registry):
    name = plant(registry, "attention", lambda s, *, channels: SilentBlock(channels=channels))
    results = check_attention_block(name, registry=registry, raise_on_failure=False)
    assert failed(results) == {
        "records its map": "recorded no map inside record_attention; when self.recording is true, call self.keep_map(attn, key_grid)"
    }
    assert {r.check: r.status for r in results}["map grid"] == "skip"


def test_attention_that_changes_the_shape(registry):
    name = plant(registry, "attention", lambda s, *, channels: nn.Conv2d(channels, channels, 3))
    reasons = failed(check_attention_block(name, registry=registry, raise_on_failure=False))
    assert reasons["keeps the shape"] == "at 7×7 it maps (2, 16, 7, 7) to (2, 16, 5, 5); attention must keep (b, channels, x, y)"


def test_a_builder_crash_is_the_builds_check_failing(registry):
    def crash(spec, *, channels):
        raise AttributeError("'PlantedSpec' object has no attribute 'heads'")

    name = plant(registry, "attention", crash)
    results = check_attention_block(name, registry=registry, raise_on_failure=False)
    assert [(r.check, r.status) for r in results] == [("builds", "fail")]
    assert "failed to build: AttributeError: 'PlantedSpec' object has no attribute 'heads'" in results[0].reason


def test_a_raw_parameter_weight_is_noted_not_failed(registry):
    class RawWeight(SelfAttention2d):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.mix = nn.Parameter(torch.eye(kwargs["channels"]))

        def forward(self, x):
            return super().forward(torch.einsum("oc,bcxy->boxy", self.mix, x))

    name = plant(registry, "attention", lambda s, *, channels: RawWeight(channels=channels))
    results = {r.check: r for r in check_attention_block(name, registry=registry)}
    on = results["forward and backward in G and D at every resolution, spectral norm on"]
    assert on.status == "pass" and on.reason == "these weights get no spectral norm: mix"


# --- norm ----------------------------------------------------------------------------


class PlantedNormSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["planted_norm"] = "planted_norm"


def test_norm_that_assumes_divisible_channels(registry):
    name = plant(registry, "norm", lambda s, *, channels: nn.GroupNorm(4, channels), spec=PlantedNormSpec)
    reasons = failed(check_norm(name, registry=registry, raise_on_failure=False))
    assert reasons == {"builds": "at 3 channels: ValueError: num_channels (3) must be divisible by num_groups (4)"}


def test_norm_that_detaches_its_input(registry):
    class Detached(nn.Module):
        def forward(self, x):
            return x.detach()

    name = plant(registry, "norm", lambda s, *, channels: Detached(), spec=PlantedNormSpec)
    reasons = failed(check_norm(name, registry=registry, raise_on_failure=False))
    assert reasons["gradients reach the input"] == "its output does not depend on its input differentiably (detached?); gradients cannot pass"


# --- loss and penalty ----------------------------------------------------------------


class PlantedLossSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["planted_loss"] = "planted_loss"


def test_loss_with_the_wrong_sign(registry):
    swapped = AdversarialLoss(lambda real, fake: hinge_d_loss(fake, real), hinge_g_loss)
    name = plant(registry, "loss", lambda s: swapped, spec=PlantedLossSpec)
    reasons = failed(check_loss(name, registry=registry, raise_on_failure=False))
    assert list(reasons) == ["D's sign"]
    assert reasons["D's sign"].startswith("d_loss is 4 when D scores reals +1 and fakes -1, but 0 the other way round")


def test_loss_whose_g_side_has_the_wrong_sign(registry):
    name = plant(registry, "loss", lambda s: AdversarialLoss(ns_d_loss, lambda fake, real: -ns_g_loss(fake)), spec=PlantedLossSpec)
    assert list(failed(check_loss(name, registry=registry, raise_on_failure=False))) == ["G's sign"]


def test_loss_that_overflows_on_extreme_logits(registry):
    naive = AdversarialLoss(
        lambda real, fake: -(torch.log(torch.sigmoid(real)) + torch.log(1 - torch.sigmoid(fake))).mean(),
        lambda fake, real: -torch.log(torch.sigmoid(fake)).mean(),
    )
    name = plant(registry, "loss", lambda s: naive, spec=PlantedLossSpec)
    reasons = failed(check_loss(name, registry=registry, raise_on_failure=False))
    assert list(reasons) == ["finite on extreme logits"] and "(use softplus, not log(sigmoid))" in reasons["finite on extreme logits"]


def without_create_graph(discriminator, real, fake):
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(real).sum(), real)  # no create_graph: D's weights never see it
    return grad.square().sum()


def test_penalty_that_never_reaches_d(registry):
    class PlantedPenaltySpec(BaseModel):
        model_config = ConfigDict(extra="forbid")
        kind: Literal["planted_penalty"] = "planted_penalty"

    name = plant(registry, "penalty", lambda s: Penalty(without_create_graph, 1.0), spec=PlantedPenaltySpec)
    reasons = failed(check_penalty(name, registry=registry, raise_on_failure=False))
    assert reasons == {
        "reaches D": "penalty planted_penalty does not depend on D's weights; "
        "build input gradients with torch.autograd.grad(..., create_graph=True) so the penalty trains D"
    }


def test_a_loss_carrying_a_penalty_that_never_reaches_d(registry):
    carrying = AdversarialLoss(hinge_d_loss, hinge_g_loss, penalties=(Penalty(without_create_graph, 1.0, name="broken"),))
    name = plant(registry, "loss", lambda s: carrying, spec=PlantedLossSpec)
    reasons = failed(check_loss(name, registry=registry, raise_on_failure=False))
    assert list(reasons) == ["its penalties reach D"] and reasons["its penalties reach D"].startswith("penalty broken does not depend on D's weights")


# --- family --------------------------------------------------------------------------


def test_family_that_ignores_spectral_norm(registry):
    class NoSNGeneratorSpec(DCGANGeneratorSpec):
        kind: Literal["nosn"] = "nosn"

    class NoSNDiscriminatorSpec(DCGANDiscriminatorSpec):
        kind: Literal["nosn"] = "nosn"

    def without_sn(cls):
        def build(spec, **context):
            return cls(spec.model_copy(update={"spectral_norm": False}), **context)

        return build

    registry.register("generator", spec=NoSNGeneratorSpec, builder=without_sn(DCGANGenerator))
    registry.register("discriminator", spec=NoSNDiscriminatorSpec, builder=without_sn(DCGANDiscriminator))
    reasons = failed(check_family("nosn", registry=registry, raise_on_failure=False))
    assert list(reasons) == ["spectral norm on"]
    assert reasons["spectral norm on"].startswith("spectral_norm: true, but these generator layers have none: stem.0, up14.0")


# --- augment -------------------------------------------------------------------------


class PlantedAugmentSpec(AugmentSpec):
    kind: Literal["planted_augment"] = "planted_augment"


class Flip(nn.Module):
    """Flips images left-right; ``per_image=False`` decides once for the whole batch (wrong)."""

    def __init__(self, p, *, per_image=True, at_zero=False):
        super().__init__()
        self.p, self.per_image, self.at_zero = p, per_image, at_zero

    def forward(self, images, strength=1.0):
        n = images.shape[0] if self.per_image else 1
        chosen = (torch.rand(n) < self.p * strength).expand(images.shape[0])
        if self.at_zero:
            chosen = chosen | True
        return torch.where(chosen[:, None, None, None], images.flip(-1), images)


def test_a_good_small_augmentation_passes(registry):
    name = plant(registry, "augment", lambda s: Flip(s.p), spec=PlantedAugmentSpec)
    assert not failed(check_augment(name, registry=registry))


def test_augmentation_that_decides_for_the_whole_batch(registry):
    name = plant(registry, "augment", lambda s: Flip(s.p, per_image=False), spec=PlantedAugmentSpec)
    reasons = failed(check_augment(name, registry=registry, raise_on_failure=False))
    assert list(reasons) == ["each image on its own with probability p·strength"]
    assert reasons["each image on its own with probability p·strength"].endswith("each image must be augmented on its own with probability p·strength")


def test_augmentation_that_is_not_the_identity_at_zero(registry):
    name = plant(registry, "augment", lambda s: Flip(s.p, at_zero=True), spec=PlantedAugmentSpec)
    reasons = failed(check_augment(name, registry=registry, raise_on_failure=False))
    assert reasons["identity when p·strength = 0"] == "at p = 0 it changed the images; with p·strength = 0 it must return them unchanged"


def test_checks_accept_a_spec_as_data_and_leave_torch_s_random_state_alone(registry):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    results = check_attention_block({"kind": "sagan", "heads": 2, "resolution": 7}, registry=registry)
    assert torch.equal(torch.rand(3), expected)
    assert all(r.block == "attention:sagan" for r in results) and not failed(results)


class FieldWithoutDefault(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["needs"] = "needs"
    size: int = Field(gt=0)


def test_a_spec_without_defaults_needs_its_fields_given(registry):
    registry.register("norm", spec=FieldWithoutDefault, builder=lambda s, *, channels: nn.Identity())
    with pytest.raises(ValueError, match="size"):
        check_norm("needs", registry=registry)
    assert not failed(check_norm({"kind": "needs", "size": 2}, registry=registry))
