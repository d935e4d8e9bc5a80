from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ganparts.blocks.attention import AttentionSpec
from ganparts.spec.forms import block_defaults, describe_fields, network_resolutions
from ganparts.spec.registry import Registry
from ganparts.spec.experiment import Experiment


def widgets(model, **kwargs):
    return {f.name: f for f in describe_fields(model, **kwargs)}


def test_the_experiment_form_has_every_section_and_block():
    fields = widgets(Experiment)
    assert [f.name for f in describe_fields(Experiment)][:2] == ["name", "seed"]  # scalars first
    assert (fields["loss"].widget, fields["loss"].block_kind, fields["loss"].default) == ("block", "loss", {"kind": "hinge"})
    assert (fields["penalties"].widget, fields["penalties"].block_kind) == ("block_list", "penalty")
    assert fields["model"].widget == "section" and fields["model"].default is None  # required
    optim = widgets(fields["optim"].model)
    assert (optim["g_lr"].widget, optim["g_lr"].low, optim["g_lr"].default) == ("number", 0.0, 1e-4)
    assert (optim["d_steps"].widget, optim["d_steps"].low, optim["d_steps"].high) == ("integer", 1, 100)
    assert (optim["g_lr"].label, optim["d_steps"].label) == ("G LR", "D steps")
    assert (optim["betas"].widget, optim["betas"].low, optim["betas"].high, optim["betas"].default) == ("number_pair", 0.0, 1.0, [0.0, 0.9])
    data = widgets(fields["data"].model)
    assert (data["source"].widget, data["source"].block_kind) == ("choice", "dataset")
    assert data["root"].widget == "optional_text" and data["download"].widget == "toggle"


def test_families_give_their_attention_resolutions(registry):
    generator = widgets(registry.get("generator", "dcgan").spec)
    assert (generator["width"].low, generator["width"].high, generator["width"].label) == (8, 1024, "Width")
    assert generator["attention"].widget == "block_list" and generator["attention"].block_kind == "attention"
    assert network_resolutions(registry, "generator", "dcgan") == (7, 14, 28)
    sagan = widgets(registry.get("attention", "sagan").spec, choices={"resolution": (7, 14, 28)})
    assert (sagan["resolution"].widget, sagan["resolution"].choices) == ("choice", (7, 14, 28))
    assert block_defaults(registry, "attention", "sagan", choices={"resolution": (28, 14, 7)}) == {
        "kind": "sagan", "resolution": 14, "heads": 1, "key_ratio": 8,
    }


def test_a_plugin_block_is_described_from_its_own_spec():
    class TintSpec(AttentionSpec):
        """A block from elsewhere."""

        kind: Literal["tint"] = "tint"
        colour: Literal["red", "blue"] = "blue"
        amount: float = Field(0.5, ge=0, lt=1, description="how much")
        label: str = "x"

    class NoneSpec(BaseModel):
        model_config = ConfigDict(extra="forbid")
        kind: Literal["plain"] = "plain"

    registry = Registry()
    registry.register("attention", spec=TintSpec, builder=lambda s, *, channels: None)
    registry.register("norm", spec=NoneSpec, builder=lambda s, *, channels: None)
    tint = widgets(TintSpec)
    assert (tint["colour"].widget, tint["colour"].choices) == ("choice", ("red", "blue"))
    assert (tint["amount"].widget, tint["amount"].low, tint["amount"].high, tint["amount"].description) == ("number", 0.0, 1.0, "how much")
    assert tint["label"].widget == "text" and tint["resolution"].widget == "integer"
    assert block_defaults(registry, "attention", "tint", choices={"resolution": (4, 8)}) == {
        "kind": "tint", "resolution": 8, "colour": "blue", "amount": 0.5, "label": "x",
    }
    assert widgets(NoneSpec) == {}
