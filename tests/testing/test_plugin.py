"""``ganparts plugins --check NAME``: every check of every block a plugin registers, in one table."""

from __future__ import annotations

import os
import re
import sys

import pytest

from ganparts import plugins
from ganparts.errors import UserError
from ganparts.plugins import load_plugins
from ganparts.testing import check_plugin
from tests.conftest import make_distribution, run_cli

LOSSES = """
from typing import Literal
from pydantic import BaseModel, ConfigDict
from ganparts.blocks.losses import AdversarialLoss, hinge_d_loss, hinge_g_loss
from ganparts.hookspecs import hookimpl

class Right(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["right"] = "right"

class Backwards(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["backwards"] = "backwards"

class Hinge(BaseModel):  # clashes with the built-in hinge: skipped, reported
    model_config = ConfigDict(extra="forbid")
    kind: Literal["hinge"] = "hinge"

@hookimpl
def ganparts_register(registry):
    registry.register("loss", spec=Right, builder=lambda s: AdversarialLoss(hinge_d_loss, hinge_g_loss))
    registry.register("loss", spec=Backwards, builder=lambda s: AdversarialLoss(lambda r, f: hinge_d_loss(f, r), hinge_g_loss))
    registry.register("loss", spec=Hinge, builder=lambda s: AdversarialLoss(hinge_d_loss, hinge_g_loss))
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("kit_")]:
        del sys.modules[name]


def test_every_block_of_the_plugin_is_checked_and_a_skipped_one_fails_to_load(site):
    make_distribution(site, "kit_losses", LOSSES, plugin="kitlosses", version="0.3")
    results = check_plugin("kitlosses", plugins=load_plugins(), train=False)
    by_block: dict[str, dict[str, str]] = {}
    for r in results:
        by_block.setdefault(r.block, {})[r.check] = r.status
    assert set(by_block) == {"loss:hinge", "loss:right", "loss:backwards"}
    assert by_block["loss:hinge"] == {"loads": "fail"}
    assert by_block["loss:right"]["D's sign"] == "pass" and by_block["loss:backwards"]["D's sign"] == "fail"
    (skipped,) = [r for r in results if r.block == "loss:hinge"]
    assert skipped.reason.startswith("the name is taken by plugin ganparts.blocks.losses (ganparts")
    # The distribution's name finds it too.
    assert [r.block for r in check_plugin("kit-losses", plugins=load_plugins(), train=False)] == [r.block for r in results]


def test_an_unknown_plugin_is_a_user_error_listing_the_installed_ones(site, monkeypatch):
    make_distribution(site, "kit_losses", LOSSES, plugin="kitlosses")
    with pytest.raises(UserError, match="no plugin named 'nope'; installed plugins: .*kitlosses"):
        check_plugin("nope", plugins=load_plugins())
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    with pytest.raises(UserError, match=f"installed plugins: none \\(plugin autoloading is disabled: {plugins.DISABLE_AUTOLOAD_ENV} is set\\)"):
        check_plugin("kitlosses", plugins=load_plugins())


def test_a_plugin_that_failed_to_load_is_one_failed_row(site):
    make_distribution(site, "kit_broken", "import kit_no_such_module\n", plugin="kitbroken")
    (row,) = check_plugin("kitbroken", plugins=load_plugins())
    assert (row.block, row.check, row.status) == ("plugin kitbroken", "loads", "fail")
    assert row.reason == "import failed: ModuleNotFoundError: No module named 'kit_no_such_module'"


def test_the_command_prints_one_table_and_exits_1_on_a_failure(tmp_path):
    make_distribution(tmp_path, "kit_losses", LOSSES, plugin="kitlosses")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    checked = run_cli("plugins", "--check", "kitlosses", env=env, cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[0].split() == ["block", "check", "result", "reason"]
    backwards = next(line for line in lines if line.startswith("loss:backwards") and "D's sign" in line)
    assert re.search(r" fail +d_loss is 4 when D scores reals \+1 and fakes -1, but 0 the other way round", backwards)
    assert any(line.startswith("loss:right") and "trains 2 steps through the Trainer" in line and " pass" in line for line in lines)
    assert lines[-1].startswith("kitlosses: ") and lines[-1].endswith(" 2 failed")  # backwards' sign, hinge's clash
    assert "Traceback" not in checked.stderr

    unknown = run_cli("plugins", "--check", "nope", env=env)
    assert unknown.returncode == 2 and not unknown.stdout
    assert unknown.stderr.splitlines()[-1].startswith("ganparts: error: no plugin named 'nope'; installed plugins: ")
