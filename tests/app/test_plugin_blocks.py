"""An installed plugin's blocks appear in the Build page's pickers with their own fields, and a
broken plugin is reported on the Plugins page and in the sidebar — nothing in the app names them."""

import sys

import pytest

from ganparts import plugins
from ganparts.spec.files import load_spec
from tests.conftest import make_distribution

GATE = '''
from typing import Literal
from pydantic import Field
from torch import nn
from ganparts.blocks.attention import AttentionSpec
from ganparts.hookspecs import hookimpl


class GateSpec(AttentionSpec):
    """A gate that lets features through (a stand-in for a third-party attention block)."""

    kind: Literal["gate"] = "gate"
    mode: Literal["soft", "hard"] = "soft"
    strength: float = Field(0.5, ge=0, le=1, description="how much passes")


@hookimpl
def ganparts_register(registry):
    registry.register("attention", spec=GateSpec, builder=lambda s, *, channels: nn.Identity())
'''


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Two plugin distributions on sys.path, one working and one that fails to import."""
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    make_distribution(tmp_path, "ap_gate", GATE, plugin="gate-blocks")
    make_distribution(tmp_path, "ap_broken", "import ganparts_no_such_module\n", version="0.3")
    plugins.reset()
    yield
    for name in ("ap_gate", "ap_broken"):
        sys.modules.pop(name, None)
    plugins.reset()


def test_a_plugin_block_is_offered_with_its_own_fields(installed, app):
    at = app()
    key = "spec0:model.generator[dcgan].attention#0"
    picker = at.selectbox(key=f"{key}.kind")
    assert "gate [gate-blocks]" in picker.options  # labelled with the plugin it comes from
    picker.set_value("gate").run()
    at.selectbox(key=f"{key}[gate].mode").set_value("hard")
    at.number_input(key=f"{key}[gate].strength").set_value(0.25).run()
    assert not at.exception and not at.main.error  # (the sidebar reports the broken plugin)
    spec = load_spec(at.session_state["build.spec"], registry=plugins.default_registry())
    gate = spec.model.generator.attention[0]
    assert (gate.kind, gate.resolution, gate.mode, gate.strength) == ("gate", 14, "hard", 0.25)


def test_a_broken_plugin_is_reported(installed, app):
    at = app("plugins")
    table = at.dataframe[0].value.set_index("plugin")
    assert table.loc["gate-blocks", "status"] == "loaded" and table.loc["gate-blocks", "blocks"] == "attention: gate"
    assert table.loc["ap_broken", "status"] == "failed"
    errors = "\n".join(e.value for e in at.error)
    assert "**ap_broken** (ap-broken 0.3) was skipped: import failed: ModuleNotFoundError" in errors
    assert "Plugins that failed to load: ap_broken" in errors  # the sidebar says so on every page
