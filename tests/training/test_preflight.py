"""One decision before training: what `validate` accepts, `train` accepts, and the reverse."""

import importlib
from typing import Literal

import pytest
import torch

from ganparts.data.sources import Mnist5kSpec
from ganparts.errors import SpecError
from ganparts.models.dcgan import DCGANGenerator, DCGANGeneratorSpec
from ganparts.plugins import BUILTIN_PLUGINS, default_registry
from ganparts.spec.files import load_spec
from ganparts.spec.registry import Registry
from ganparts.training.preflight import preflight
from ganparts.training.resources import ResourceEstimate
from tests.conftest import SPECS, run_cli, tiny_overrides

CPU = torch.device("cpu")


def test_a_trainable_spec_passes_with_its_memory_estimate(tiny_spec):
    estimate = preflight(tiny_spec(), registry=default_registry(), device=CPU)
    assert isinstance(estimate, ResourceEstimate) and estimate.parameters > 0


def test_a_block_that_cannot_be_built_is_named_where_it_sits(tiny_spec):
    spec = tiny_spec(**{"model.generator.attention": "[{kind: sagan, resolution: 14}, {kind: sagan, resolution: 28, heads: 4}]"})
    with pytest.raises(SpecError, match="model.generator.attention.1: attention at 8 channels") as raised:
        preflight(spec, registry=default_registry(), device=CPU)
    assert raised.value.problems[0][0] == "model.generator.attention.1"


def test_a_network_that_cannot_be_built_names_its_network(tiny_spec):
    registry = Registry()
    with registry.plugin("builtins", builtin=True) as staged:
        for module in BUILTIN_PLUGINS:
            importlib.import_module(module).ganparts_register(registry=staged)

    class Tiny32(Mnist5kSpec):
        image_shape = (1, 32, 32)
        kind: Literal["tiny32"] = "tiny32"

    registry.register("dataset", spec=Tiny32, builder=lambda s, **_: None)
    spec = load_spec(SPECS / "sagan_mnist.yaml", ["data.source=tiny32"], registry=registry)
    with pytest.raises(SpecError) as raised:
        preflight(spec, registry=registry, device=CPU)
    assert raised.value.problems[0] == ("model.generator", "the dcgan generator makes 28×28 images, not 32×32")


def test_a_plugin_builder_that_crashes_is_one_line_naming_block_plugin_and_reason(tiny_spec):
    registry = Registry()
    with registry.plugin("builtins", builtin=True, distribution="ganparts", version="0.1.0") as staged:
        for module in BUILTIN_PLUGINS:
            importlib.import_module(module).ganparts_register(registry=staged)

    class Crashing(DCGANGeneratorSpec):
        kind: Literal["crashing"] = "crashing"

    def build(spec, **context):
        return spec.missing_field  # an AttributeError, not the ValueError a spec problem would be

    with registry.plugin("crashy", distribution="ganparts-crashy", version="0.2.0") as staged:
        staged.register("generator", spec=Crashing, builder=build)
    spec = load_spec(SPECS / "sagan_mnist.yaml", ["model.generator.kind=crashing", "data.source=mnist-5k"], registry=registry)
    with pytest.raises(SpecError) as raised:
        preflight(spec, registry=registry, device=CPU)
    ((path, message),) = raised.value.problems
    assert path == "model.generator"
    assert message == (
        "generator 'crashing' from plugin crashy (ganparts-crashy 0.2.0) failed to build: "
        "AttributeError: 'Crashing' object has no attribute 'missing_field'"
    )
    assert isinstance(raised.value.__cause__.__cause__, AttributeError)  # what -v shows


def test_fp16_is_refused_only_for_penalties_that_differentiate_d_s_input(tiny_spec):
    from ganparts.blocks.losses import AdversarialLoss, Penalty, hinge_d_loss, hinge_g_loss
    from pydantic import BaseModel, ConfigDict

    registry = Registry()
    with registry.plugin("builtins", builtin=True) as staged:
        for module in BUILTIN_PLUGINS:
            importlib.import_module(module).ganparts_register(registry=staged)

    def loss_spec(name):
        return type(name, (BaseModel,), {"model_config": ConfigDict(extra="forbid"), "__annotations__": {"kind": Literal[name]}, "kind": name})

    on_logits = Penalty(lambda d, real, fake: d(real).square().mean(), 0.1, name="logit-l2", input_gradients=False)
    registry.register("loss", spec=loss_spec("drift"), builder=lambda s: AdversarialLoss(hinge_d_loss, hinge_g_loss, penalties=(on_logits,)))
    fp16 = ["train.precision=fp16", "data.source=mnist-5k"]
    preflight(load_spec(SPECS / "sagan_mnist.yaml", [*fp16, "loss=drift"], registry=registry), registry=registry, device=CPU)
    with pytest.raises(SpecError, match="penalty gp does not get here"):
        preflight(load_spec(SPECS / "sagan_mnist.yaml", [*fp16, "loss=wgan-gp"], registry=registry), registry=registry, device=CPU)


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


class PlainGeneratorSpec(DCGANGeneratorSpec):
    """A family that cannot condition on a class (as a plugin's may not)."""

    conditional = False
    kind: Literal["plain"] = "plain"


class UnlabelledSpec(Mnist5kSpec):
    """A data source whose labels are no classes."""

    kind: Literal["unlabelled"] = "unlabelled"
    num_classes = 0


@pytest.fixture(scope="module")
def plugin_registry():
    registry = Registry()
    for module in BUILTIN_PLUGINS:
        importlib.import_module(module).ganparts_register(registry=registry)
    registry.register("generator", spec=PlainGeneratorSpec,
                      builder=lambda s, *, z_dim, image_shape, registry: DCGANGenerator(s, z_dim=z_dim, image_shape=image_shape, registry=registry))
    registry.register("dataset", spec=UnlabelledSpec, builder=lambda s, *, root, split, download: None)
    return registry


def conditional_spec(registry, **extra):
    return load_spec(SPECS / "sagan_cond_mnist.yaml", tiny_overrides(**extra), registry=registry)


def test_class_conditioning_with_a_family_that_lacks_it_is_refused(plugin_registry):
    spec = conditional_spec(plugin_registry, **{"model.generator.kind": "plain"})
    with pytest.raises(SpecError) as raised:
        preflight(spec, registry=plugin_registry, device=CPU)
    assert raised.value.problems == [(
        "model.num_classes",
        "10, but the generator family 'plain' does not support class conditioning; "
        "use model.num_classes: 0 or a family that does (dcgan, resnet)",
    )]
    preflight(conditional_spec(plugin_registry, **{"model.generator.kind": "plain", "model.num_classes": "0"}), registry=plugin_registry, device=CPU)


def test_more_classes_than_the_data_source_has_are_refused(plugin_registry):
    with pytest.raises(SpecError, match="^model.num_classes: 11, but data source 'mnist-5k' has 10 classes; use at most 10$"):
        preflight(conditional_spec(plugin_registry, **{"model.num_classes": "11"}), registry=plugin_registry, device=CPU)
    with pytest.raises(SpecError, match="data source 'unlabelled' has no class labels to condition on; use 0"):
        preflight(conditional_spec(plugin_registry, **{"data.source": "unlabelled"}), registry=plugin_registry, device=CPU)
    preflight(conditional_spec(plugin_registry, **{"model.num_classes": "4"}), registry=plugin_registry, device=CPU)  # a subset is fine


def test_validate_refuses_more_classes_than_the_data_has_in_one_line():
    overrides = [arg for kv in tiny_overrides(**{"model.num_classes": "12"}) for arg in ("--set", kv)]
    result = run_cli("validate", SPECS / "sagan_cond_mnist.yaml", *overrides)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["ganparts: error: model.num_classes: 12, but data source 'mnist-5k' has 10 classes; use at most 10"]


def test_cuda_graph_is_refused_off_cuda(tiny_spec):
    with pytest.raises(SpecError, match="train.cuda_graph: needs a CUDA device, and this run's is cpu"):
        preflight(tiny_spec(**{"train.cuda_graph": "true"}), registry=default_registry(), device=CPU)
