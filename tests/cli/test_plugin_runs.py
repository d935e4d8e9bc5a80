"""The command line and plugins: a crashing builder is one line, `build` names each block's
plugin, and a run whose plugin is gone says what to install."""

from __future__ import annotations

import json
import os
import sys

import pytest
import yaml

from ganparts import plugins
from ganparts.plugins import load_plugins
from ganparts.spec.files import load_spec
from ganparts.training.trainer import Trainer
from tests.conftest import SPECS, make_distribution, run_cli, tiny_overrides

HIDDEN = """
from typing import Literal
from torch import nn
from ganparts.blocks.attention import AttentionSpec
from ganparts.hookspecs import hookimpl

class HiddenSpec(AttentionSpec):
    kind: Literal["hidden"] = "hidden"

class CrashingSpec(AttentionSpec):
    kind: Literal["crashing"] = "crashing"

def crash(spec, *, channels):
    return spec.heads  # AttributeError: a bug in the plugin, not a spec problem

@hookimpl
def ganparts_register(registry):
    registry.register("attention", spec=HiddenSpec, builder=lambda s, *, channels: nn.Identity())
    registry.register("attention", spec=CrashingSpec, builder=crash)
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """ganparts-hidden 0.1.0 installed in a directory on sys.path (here) and PYTHONPATH (for commands)."""
    path = tmp_path / "site"
    path.mkdir()
    make_distribution(path, "ganparts_hidden", HIDDEN, plugin="hidden", version="0.1.0")
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.syspath_prepend(str(path))
    yield path
    sys.modules.pop("ganparts_hidden", None)


def env_with(site) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def sets(**extra: str) -> list[str]:
    return [arg for kv in tiny_overrides(**extra) for arg in ("--set", kv)]


def test_a_crashing_builder_is_one_line_naming_block_plugin_and_reason(site):
    args = ["validate", SPECS / "sagan_mnist.yaml", *sets(**{"model.generator.attention.0.kind": "crashing"})]
    result = run_cli(*args, env=env_with(site))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "ganparts: error: model.generator.attention.0: attention 'crashing' from plugin hidden (ganparts-hidden 0.1.0) "
        "failed to build: AttributeError: 'CrashingSpec' object has no attribute 'heads'"
    ]
    verbose = run_cli(*args, "-v", env=env_with(site))
    assert verbose.returncode == 2 and "Traceback (most recent call last)" in verbose.stderr
    assert 'ganparts_hidden.py", line' in verbose.stderr and verbose.stderr.splitlines()[-1] == result.stderr.splitlines()[-1]


def test_build_names_each_block_s_plugin_and_the_loss_s_own_penalties(site):
    result = run_cli("build", SPECS / "wgan_gp_mnist.yaml", *sets(**{"model.generator.attention.0.kind": "hidden"}), env=env_with(site))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    hidden = next(line for line in lines if line.strip().startswith("model.generator.attention.0"))
    assert hidden.split()[1:] == ["attention:hidden", "hidden", "ganparts-hidden", "0.1.0"]
    assert "loss: wgan-gp from plugin ganparts.blocks.losses (ganparts" in result.stdout
    assert "penalties: gp ×10 (the loss's own)" in result.stdout and "extra penalties: none" not in result.stdout


@pytest.mark.slow
def test_a_run_remembers_its_plugin_and_names_it_when_it_is_gone(site, tmp_path):
    loaded = load_plugins()
    spec = load_spec(SPECS / "sagan_mnist.yaml", tiny_overrides(**{
        "model.generator.attention.0.kind": "hidden", "train.steps": "1", "train.grid_size": "4",
    }), registry=loaded.registry)
    run = tmp_path / "run"
    Trainer(spec, registry=loaded.registry, run_dir=run).fit()

    (checkpoint,) = (run / "checkpoints").iterdir()
    recorded = json.loads((checkpoint / "state.json").read_text())["blocks"]
    assert {"kind": "attention", "name": "hidden", "plugin": "hidden", "distribution": "ganparts-hidden", "version": "0.1.0"} in recorded
    assert {"kind": "loss", "name": "hinge", "plugin": "ganparts.blocks.losses", "distribution": "ganparts", "version": loaded.registry.get("loss", "hinge").version} in recorded
    header = (run / "spec.yaml").read_text()
    assert "#   attention hidden: ganparts-hidden 0.1.0 (plugin hidden)" in header
    assert yaml.safe_load(header)["model"]["generator"]["attention"][0]["kind"] == "hidden"

    needs = f"ganparts: error: {checkpoint}: this run needs block `hidden` from ganparts-hidden 0.1.0"
    for command in (["sample", run, "--out", tmp_path / "s.png", "--n", "4"], ["attention", run, "--out", tmp_path / "a.png", "--n", "1"]):
        gone = run_cli(*command)  # the plugin's directory is not on this process's path: uninstalled
        assert gone.returncode == 2 and gone.stderr.splitlines()[-1] == f"{needs} (not installed)"
    switched_off = run_cli("sample", run, "--out", tmp_path / "s.png", env=env_with(site) | {plugins.DISABLE_AUTOLOAD_ENV: "1"})
    assert switched_off.returncode == 2
    assert switched_off.stderr.splitlines()[-1] == (
        f"{needs} (ganparts-hidden 0.1.0 is installed but was not loaded; "
        f"plugin autoloading is disabled: {plugins.DISABLE_AUTOLOAD_ENV} is set)"
    )
    resumed = run_cli("train", "--out", run, "--resume", "--set", "train.steps=2")
    assert resumed.returncode == 2 and resumed.stderr.splitlines()[-1] == f"{needs} (not installed)"
    assert run_cli("sample", run, "--out", tmp_path / "s.png", "--n", "4", env=env_with(site)).returncode == 0
