"""One decision before training: what `validate` accepts, `train` accepts, and the reverse."""

import pytest
import torch

from ganparts.errors import SpecError
from ganparts.plugins import default_registry
from ganparts.training.preflight import preflight
from ganparts.training.resources import ResourceEstimate
from tests.conftest import SPECS, run_cli, tiny_overrides

CPU = torch.device("cpu")


def test_a_trainable_spec_passes_with_its_memory_estimate(tiny_spec):
    estimate = preflight(tiny_spec(), registry=default_registry(), device=CPU)
    assert isinstance(estimate, ResourceEstimate) and estimate.parameters > 0


def test_a_block_that_cannot_be_built_names_its_network(tiny_spec):
    spec = tiny_spec(**{"model.generator.attention": "[{kind: sagan, resolution: 28, heads: 4}]"})
    with pytest.raises(SpecError, match="model.generator: attention at 8 channels") as raised:
        preflight(spec, registry=default_registry(), device=CPU)
    assert raised.value.problems[0][0] == "model.generator"


def test_fp16_with_a_loss_that_carries_a_gradient_penalty_is_refused(tiny_spec):
    spec = tiny_spec("wgan_gp_mnist.yaml", **{"train.precision": "fp16"})
    with pytest.raises(SpecError, match="train.precision: fp16 needs gradient scaling"):
        preflight(spec, registry=default_registry(), device=CPU)


@pytest.mark.parametrize("command", ["validate", "build"])
def test_validate_and_build_refuse_what_train_refuses(command, tmp_path):
    """Before preflight, `validate` accepted fp16 with wgan-gp and only `train` refused it."""
    overrides = [arg for kv in tiny_overrides(**{"train.precision": "fp16"}) for arg in ("--set", kv)]
    looked = run_cli(command, SPECS / "wgan_gp_mnist.yaml", *overrides)
    trained = run_cli("train", SPECS / "wgan_gp_mnist.yaml", "--out", tmp_path / "run", *overrides)
    for result in (looked, trained):
        assert result.returncode == 2 and "train.precision: fp16 needs gradient scaling" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
