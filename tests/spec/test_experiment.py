import json

import pytest
import yaml
from pydantic import ValidationError

from ganparts.errors import SpecError
from ganparts.plugins import default_registry
from ganparts.spec.experiment import json_schema
from ganparts.spec.files import (
    MAX_SPEC_BYTES, apply_overrides, dump_spec, load_spec, parse_spec_bytes, parse_spec_text, spec_to_data,
)
from tests.conftest import SPECS, allowed

SPEC_FILES = sorted(SPECS.glob("*.yaml")) + sorted(SPECS.glob("*.json"))


def test_specs_folder_is_not_empty():
    assert {"sagan_mnist.yaml", "dcgan_mnist.yaml", "wgan_gp_mnist.yaml"} <= {p.name for p in SPEC_FILES}


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_every_spec_file_validates_and_round_trips(path, tmp_path):
    spec = load_spec(path, registry=default_registry())
    text = dump_spec(spec)
    again = load_spec(yaml.safe_load(text), registry=default_registry())
    assert again == spec and dump_spec(again) == text
    as_json = tmp_path / "spec.json"
    as_json.write_text(json.dumps(spec_to_data(spec), indent=2), encoding="utf-8")
    assert load_spec(as_json, registry=default_registry()) == spec


def unnamed(spec_file, *overrides):
    """A spec file's data, without its ``name`` (which differs between specs compared here)."""
    data = spec_to_data(load_spec(SPECS / spec_file, list(overrides), registry=default_registry()))
    del data["name"]
    return data


@pytest.mark.parametrize("attention_spec", ["sagan_mnist.yaml", "sagan_pooled_mnist.yaml"])
def test_sagan_and_baseline_differ_only_in_attention(attention_spec):
    sagan, base = unnamed(attention_spec), unnamed("dcgan_mnist.yaml")
    for net in ("generator", "discriminator"):
        assert sagan["model"][net].pop("attention") and base["model"][net].pop("attention") == []
    assert sagan == base


def test_conditional_spec_is_the_study_command():
    """docs/results.md trains the conditional study as sagan_mnist.yaml with these two overrides."""
    assert unnamed("sagan_cond_mnist.yaml") == unnamed("sagan_mnist.yaml", "model.num_classes=10", "loss.kind=ns")


def test_public_field_paths():
    spec = load_spec(SPECS / "sagan_mnist.yaml", registry=default_registry())
    assert spec.data.source in ("auto", "mnist", "mnist-5k") and spec.data.batch_size > 0
    assert spec.model.generator.attention[0].kind == "sagan" and spec.model.generator.attention[0].resolution == 14
    assert spec.model.generator.spectral_norm and spec.model.discriminator.spectral_norm
    assert spec.loss.kind == "hinge"
    assert (spec.optim.g_lr, spec.optim.d_lr, tuple(spec.optim.betas), spec.optim.d_steps) == (1.6e-3, 1.6e-3, (0.0, 0.9), 1)  # tuned (docs/results.md)
    assert spec.train.steps > 0 and 0 < spec.train.ema_decay < 1
    assert spec.train.sample_every > 0 and spec.train.checkpoint_every > 0


def test_overrides_parse_yaml_values():
    spec = load_spec(
        SPECS / "sagan_mnist.yaml",
        ["train.steps=200", "loss.kind=wgan-gp", "model.generator.attention=[{kind: sagan_pooled, resolution: 7}]", "optim.betas=[0.5, 0.99]"], registry=default_registry()
    )
    assert spec.train.steps == 200 and spec.loss.kind == "wgan-gp"
    assert spec.model.generator.attention[0].kind == "sagan_pooled" and spec.model.generator.attention[0].resolution == 7
    assert tuple(spec.optim.betas) == (0.5, 0.99)


def test_a_validated_spec_is_frozen_and_changes_by_copy(registry):
    spec = load_spec(SPECS / "sagan_mnist.yaml", registry=registry)
    for section, field, value in [(spec, "seed", 1), (spec.train, "steps", 7), (spec.data, "batch_size", 8), (spec.optim, "g_lr", 1.0), (spec.model, "z_dim", 4)]:
        with pytest.raises(ValidationError, match="frozen"):
            setattr(section, field, value)
    longer = spec.model_copy(update={"train": spec.train.model_copy(update={"steps": spec.train.steps + 1})})
    assert longer.train.steps == spec.train.steps + 1 and longer != spec
    assert longer.model_copy(update={"train": spec.train}) == spec == load_spec(SPECS / "sagan_mnist.yaml", registry=registry)


def test_override_into_list_items_and_new_sections():
    data = apply_overrides({"a": [{"b": 1}]}, ["a.0.b=2", "c.d=x"])
    assert data == {"a": [{"b": 2}], "c": {"d": "x"}}
    with pytest.raises(SpecError, match="no item 3"):
        apply_overrides({"a": [1]}, ["a.3=1"])
    with pytest.raises(SpecError, match="KEY.PATH=VALUE"):
        apply_overrides({}, ["train.steps"])


def test_block_shorthand():
    spec = load_spec(SPECS / "sagan_mnist.yaml", ["loss=ns", "model.generator.norm=instance"], registry=default_registry())
    assert spec.loss.kind == "ns" and spec.model.generator.norm.kind == "instance"


@pytest.mark.parametrize(
    "override, expected",
    [
        ("model.generator.attention.0.kind=sagn", f"model.generator.attention.0.kind: 'sagn' is not one of {allowed('attention')}"),
        ("loss.kind=wgan", f"loss.kind: 'wgan' is not one of {allowed('loss')}"),
        ("data.source=cifar", "data.source: 'cifar' is not one of 'auto', 'mnist' or 'mnist-5k'"),
        ("model.generator.widht=3", "model.generator.widht: unknown field; allowed fields:"),
        ("model.generator.attention.0.resolution=5", "resolution 5 does not exist in this network; allowed: 7, 14, 28"),
        ("model.discriminator.attention=[{kind: sagan, resolution: 3}]", "allowed: 28, 14, 7"),
        ("train.steps=0", "train.steps: Input should be greater than 0 (got 0)"),
        ("data.batch_size=abc", "data.batch_size: Input should be a valid integer"),
        ("model.generator.attention=[{resolution: 7}]", f"model.generator.attention.0.kind: missing; every block needs a kind, one of {allowed('attention')}"),
        ("optim.betas=[0.5]", "optim.betas.1: required field is missing"),
        ("bogus=1", "bogus: unknown field; allowed fields: name, seed, data, model"),
    ],
)
def test_errors_name_the_field_and_allowed_values(override, expected):
    with pytest.raises(SpecError) as info:
        load_spec(SPECS / "sagan_mnist.yaml", [override], registry=default_registry())
    assert expected in str(info.value)


def test_several_errors_are_all_reported():
    with pytest.raises(SpecError) as info:
        load_spec(SPECS / "sagan_mnist.yaml", ["train.steps=-1", "optim.g_lr=0"], registry=default_registry())
    assert len(info.value.problems) == 2


@pytest.mark.parametrize(
    "text, expected",
    [("", "empty"), ("   \n", "empty"), ("model: [", "invalid YAML at line"), ("- 1\n- 2", "top level must be a mapping")],
)
def test_unreadable_text(text, expected):
    with pytest.raises(SpecError, match=expected):
        parse_spec_text(text)


def test_file_problems(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "missing.yaml", registry=default_registry())
    with pytest.raises(SpecError, match="not a file"):
        load_spec(tmp_path, registry=default_registry())
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(tmp_path / "latin1.yaml", registry=default_registry())
    (tmp_path / "bad.json").write_text("{model: 1}")
    with pytest.raises(SpecError, match="invalid JSON at line 1"):
        load_spec(tmp_path / "bad.json", registry=default_registry())


def test_uploaded_bytes_are_size_checked_and_decoded():
    assert parse_spec_bytes(b"model: {z_dim: 8}") == {"model": {"z_dim": 8}}
    with pytest.raises(SpecError, match="a spec file may be at most 1,048,576"):
        parse_spec_bytes(b"#" * (MAX_SPEC_BYTES + 1), where="big.yaml")
    with pytest.raises(SpecError, match="up.yaml: not UTF-8 text"):
        parse_spec_bytes(b"name: caf\xe9\n", where="up.yaml")
    with pytest.raises(SpecError, match="invalid JSON"):
        parse_spec_bytes(b"{model: 1}", json_only=True)


def test_schema_lists_blocks_from_the_registry():
    schema = json.dumps(json_schema(default_registry()))
    for name in ("sagan", "sagan_pooled", "hinge", "wgan-gp", "mnist-5k"):
        assert f'"{name}"' in schema
