from typing import Callable, Literal

import pytest
from pydantic import BaseModel, ConfigDict
from torch import nn

from ganparts.spec.registry import KINDS, Registry, RegistryError


class FooSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["foo"] = "foo"
    size: int = 3


def build_foo(spec, *, channels):
    return nn.Linear(channels, spec.size)


def test_register_create_list():
    reg = Registry()
    entry = reg.register("norm", spec=FooSpec, builder=build_foo)
    assert entry.name == "foo" and entry.plugin == "(direct)" and not entry.builtin
    layer = reg.create("norm", {"kind": "foo", "size": 5}, channels=2)
    assert isinstance(layer, nn.Linear) and layer.out_features == 5
    assert layer.ganparts_entry is entry
    assert reg.list("norm") == ["foo"] and reg.list("norm", "f*") == ["foo"] and reg.list("norm", "x*") == []


def test_every_documented_kind_exists():
    assert set(KINDS) == {"attention", "norm", "loss", "penalty", "augment", "generator", "discriminator", "dataset", "feature"}


def test_duplicate_name_raises_unless_override():
    reg = Registry()
    reg.register("loss", spec=FooSpec, builder=build_foo)
    with pytest.raises(RegistryError, match="already registered under the name 'foo'"):
        reg.register("loss", spec=FooSpec, builder=build_foo)
    replacement = reg.register("loss", spec=FooSpec, builder=lambda s, **_: "new", override=True)
    assert reg.get("loss", "foo") is replacement


def test_same_name_in_different_kinds_is_fine():
    reg = Registry()
    as_loss = reg.register("loss", spec=FooSpec, builder=build_foo)
    as_penalty = reg.register("penalty", spec=FooSpec, builder=build_foo)
    assert (as_loss.kind, as_penalty.kind) == ("loss", "penalty")
    assert reg.list("loss") == reg.list("penalty") == ["foo"]
    assert reg.get("loss", "foo") is as_loss and reg.get("penalty", "foo") is as_penalty


def test_a_dataset_declares_its_image_geometry():
    from ganparts.data.images import DatasetSpec

    class NoGeometry(BaseModel):
        model_config = ConfigDict(extra="forbid")
        kind: Literal["flat"] = "flat"

    with pytest.raises(RegistryError, match="needs image_shape = .channels, height, width.; subclass ganparts.data.images.DatasetSpec"):
        Registry().register("dataset", spec=NoGeometry, builder=build_foo)

    class Cifar(DatasetSpec):
        image_shape = (3, 32, 32)
        kind: Literal["cifar"] = "cifar"

    reg = Registry()
    reg.register("dataset", spec=Cifar, builder=build_foo)
    from ganparts.data.images import image_shape

    assert image_shape("cifar", reg) == (3, 32, 32)


def test_every_change_bumps_the_revision_so_built_spec_models_go_stale():
    reg = Registry()
    before = reg.revision
    reg.register("loss", spec=FooSpec, builder=build_foo)
    with reg.plugin("p") as staged:
        staged.register("penalty", spec=FooSpec, builder=build_foo)
    assert reg.revision > before + 1


@pytest.mark.parametrize(
    "spec, message",
    [
        (type("NoKind", (BaseModel,), {"model_config": ConfigDict(extra="forbid"), "__annotations__": {"x": int}}), "kind: Literal"),
        (type("TwoKinds", (BaseModel,), {"model_config": ConfigDict(extra="forbid"), "__annotations__": {"kind": Literal["a", "b"]}}), "exactly one value"),
        (type("Lax", (BaseModel,), {"__annotations__": {"kind": Literal["lax"]}}), "extra='forbid'"),
        (dict, "BaseModel subclass"),
        (type("Nowhere", (BaseModel,), {"model_config": ConfigDict(extra="forbid"), "__annotations__": {"kind": Literal["nowhere"]}}), "lacks resolution, which every attention spec needs"),
        (type("Opaque", (BaseModel,), {"model_config": ConfigDict(extra="forbid"), "__annotations__": {"kind": Literal["o"], "resolution": int, "fn": Callable}}), "has no JSON Schema"),
    ],
)
def test_malformed_specs_are_refused(spec, message):
    with pytest.raises(RegistryError, match=message):
        Registry().register("attention", spec=spec, builder=build_foo)


def test_unknown_kind_and_name_list_the_allowed_ones():
    reg = Registry()
    reg.register("loss", spec=FooSpec, builder=build_foo)
    with pytest.raises(RegistryError, match="allowed: attention, norm"):
        reg.list("losses")
    with pytest.raises(RegistryError, match="unknown loss 'bar'; allowed: 'foo'"):
        reg.get("loss", "bar")


def test_a_failing_plugin_registers_nothing():
    reg = Registry()

    class BarSpec(FooSpec):
        kind: Literal["bar"] = "bar"

    with pytest.raises(RuntimeError):
        with reg.plugin("broken") as staged:
            staged.register("loss", spec=BarSpec, builder=build_foo)
            raise RuntimeError("hook failed half-way")
    assert reg.list("loss") == []
    with reg.plugin("good") as staged:
        staged.register("loss", spec=BarSpec, builder=build_foo)
    assert reg.get("loss", "bar").plugin == "good"


def test_network_specs_need_what_ganparts_reads_from_them():
    bare = type("Bare", (BaseModel,), {"model_config": ConfigDict(extra="forbid"), "__annotations__": {"kind": Literal["bare"]}})
    for kind in ("generator", "discriminator"):
        with pytest.raises(RegistryError, match="lacks spectral_norm, attention, which every .* spec needs; subclass ganparts.models.base.NetworkSpec"):
            Registry().register(kind, spec=bare, builder=build_foo)
    Registry().register("loss", spec=bare, builder=build_foo)  # other kinds ask nothing more


def test_a_builder_crash_names_the_block_and_its_plugin():
    from ganparts.spec.registry import BlockBuildError

    reg = Registry()
    with reg.plugin("p", distribution="ganparts-p", version="1.2") as staged:
        staged.register("norm", spec=FooSpec, builder=lambda s, *, channels: {}["missing"])
    with pytest.raises(BlockBuildError) as raised:
        reg.create("norm", {"kind": "foo"}, channels=2)
    assert str(raised.value) == "norm 'foo' from plugin p (ganparts-p 1.2) failed to build: KeyError: 'missing'"
    assert isinstance(raised.value.__cause__, KeyError) and raised.value.entry.distribution == "ganparts-p"


def test_a_builder_s_value_error_stays_a_spec_problem_and_knows_its_block():
    from ganparts.errors import UserError

    reg = Registry()

    def refuse(spec, *, channels):
        raise ValueError("too narrow")

    entry = reg.register("norm", spec=FooSpec, builder=refuse)
    with pytest.raises(ValueError, match="too narrow") as raised:
        reg.create("norm", {"kind": "foo"}, channels=2)
    assert raised.value.ganparts_block[0] is entry and raised.value.ganparts_block[1].kind == "foo"

    def missing_data(spec, *, channels):
        raise UserError("data not found")

    reg.register("loss", spec=FooSpec, builder=missing_data)
    with pytest.raises(UserError) as raised:
        reg.create("loss", {"kind": "foo"}, channels=2)
    assert str(raised.value) == "data not found"  # already worded for the user: not wrapped
