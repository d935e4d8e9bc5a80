"""Runs remember which distributions provided their blocks; a missing one is named with its version."""

from __future__ import annotations

import logging
from typing import Literal

import pytest
from torch import nn

from ganparts.blocks.attention import AttentionSpec
from ganparts.plugins import load_plugins
from ganparts.spec import provenance
from ganparts.spec.files import load_spec
from tests.conftest import SPECS


class HiddenSpec(AttentionSpec):
    kind: Literal["hidden"] = "hidden"


@pytest.fixture
def registry():
    registry = load_plugins(autoload=False).registry
    registry.autoload_note = ""
    with registry.plugin("hidden", distribution="ganparts-hidden", version="0.1.0") as staged:
        staged.register("attention", spec=HiddenSpec, builder=lambda s, *, channels: nn.Identity())
    return registry


def test_the_record_names_the_distribution_of_each_block(registry):
    spec = load_spec(SPECS / "sagan_mnist.yaml", ["model.generator.attention.0.kind=hidden", "data.source=mnist-5k"], registry=registry)
    records = provenance.record(spec, registry)
    assert {"kind": "attention", "name": "hidden", "plugin": "hidden", "distribution": "ganparts-hidden", "version": "0.1.0"} in records
    assert len({(r["kind"], r["name"]) for r in records}) == len(records)  # each block once
    assert "#   attention hidden: ganparts-hidden 0.1.0 (plugin hidden)\n" in provenance.comment(records)


RECORD = [{"kind": "attention", "name": "axial", "plugin": "axial", "distribution": "ganparts-hidden", "version": "0.1.0"}]


def test_a_missing_block_says_which_distribution_and_version_the_run_needs(registry):
    with pytest.raises(provenance.MissingBlockError) as raised:
        provenance.require_recorded(RECORD, registry, where="runs/r")
    assert str(raised.value) == "runs/r: this run needs block `axial` from ganparts-hidden 0.1.0 (not installed)"


def test_it_says_when_plugin_autoloading_is_switched_off(registry):
    registry.autoload_note = "plugin autoloading is disabled: GANPARTS_DISABLE_PLUGIN_AUTOLOAD is set"
    with pytest.raises(provenance.MissingBlockError, match=r"ganparts-hidden 0.1.0 \(not installed; plugin autoloading is disabled: GANPARTS_DISABLE_PLUGIN_AUTOLOAD is set\)$"):
        provenance.require_recorded(RECORD, registry, where="runs/r")
    installed = [RECORD[0] | {"distribution": "pydantic", "version": "0"}]  # installed, not a plugin: autoload is why
    with pytest.raises(provenance.MissingBlockError, match=r"\(pydantic \S+ is installed but was not loaded; plugin autoloading is disabled"):
        provenance.require_recorded(installed, registry, where="runs/r")


def test_another_version_is_a_one_line_warning(registry, caplog):
    other = [{"kind": "attention", "name": "hidden", "plugin": "hidden", "distribution": "ganparts-hidden", "version": "0.0.9"}]
    with caplog.at_level(logging.WARNING, logger="ganparts"):
        provenance.require_recorded(other, registry, where="runs/r")
    assert [r.message for r in caplog.records] == ["runs/r: block `hidden` was made with ganparts-hidden 0.0.9; here it comes from ganparts-hidden 0.1.0"]


@pytest.mark.parametrize("records", [None, "junk", [{"kind": "attention"}], [RECORD[0] | {"kind": "no-such-kind"}]])
def test_runs_without_a_usable_record_check_nothing(records, registry):
    provenance.require_recorded(records, registry, where="runs/r")
