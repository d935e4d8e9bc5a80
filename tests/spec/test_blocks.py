"""Where each block of an experiment sits, which entry it is, and the rules blocks bring along."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from ganparts.blocks.losses import AdversarialLoss, hinge_d_loss, hinge_g_loss
from ganparts.errors import SpecError
from ganparts.plugins import load_plugins
from ganparts.spec.blocks import blocks_used, path_of
from ganparts.spec.files import load_spec
from tests.conftest import SPECS


@pytest.fixture
def registry():
    return load_plugins(autoload=False).registry


def test_every_block_with_its_path_kind_and_plugin(registry):
    spec = load_spec(SPECS / "sagan_mnist.yaml", ["data.source=mnist-5k", "penalties=[gp]"], registry=registry)
    uses = {use.path: (use.kind, use.name, use.entry.plugin) for use in blocks_used(spec, registry)}
    assert uses["data.source"] == ("dataset", "mnist-5k", "ganparts.data.sources")
    assert uses["model.generator"] == ("generator", "dcgan", "ganparts.models.dcgan")
    assert uses["model.generator.attention.0"] == ("attention", "sagan", "ganparts.blocks.attention")
    assert uses["model.discriminator.norm"][:2] == ("norm", "none")
    assert uses["loss"] == ("loss", "hinge", "ganparts.blocks.losses") and uses["penalties.0"][:2] == ("penalty", "gp")
    assert path_of(spec, spec.model.generator.attention[0]) == "model.generator.attention.0"
    assert path_of(spec, spec.loss.model_copy()) is None  # by identity, not by equality


class Lipschitz(BaseModel):
    """A Wasserstein loss whose Lipschitz constraint is spectral norm in D unless it carries a weight."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["wgan-lp"] = "wgan-lp"
    lp_weight: float = Field(0.0, ge=0)

    def check_experiment(self, experiment, path):
        if not self.lp_weight and not experiment.model.discriminator.spectral_norm:
            return [(f"{path}.lp_weight", "0 needs model.discriminator.spectral_norm: true")]
        return []


class Broken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["broken-rule"] = "broken-rule"

    def check_experiment(self, experiment, path):
        raise KeyError("oops")


def test_a_block_s_own_rules_apply_when_a_spec_is_validated(registry):
    loss = lambda s: AdversarialLoss(hinge_d_loss, hinge_g_loss)  # noqa: E731
    registry.register("loss", spec=Lipschitz, builder=loss)
    registry.register("loss", spec=Broken, builder=loss)
    base = [str(SPECS / "sagan_mnist.yaml")]
    load_spec(base[0], ["loss=wgan-lp", "model.discriminator.spectral_norm=true"], registry=registry)
    with pytest.raises(SpecError) as raised:
        load_spec(base[0], ["loss=wgan-lp", "model.discriminator.spectral_norm=false"], registry=registry)
    assert raised.value.problems == [("loss.lp_weight", "0 needs model.discriminator.spectral_norm: true")]
    with pytest.raises(SpecError) as raised:
        load_spec(base[0], ["loss=broken-rule"], registry=registry)
    assert raised.value.problems == [("loss", "the 'broken-rule' block's own check_experiment failed: KeyError: 'oops'")]
