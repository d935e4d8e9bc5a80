"""Plugins: built-ins through the hook, entry points, isolation of broken plugins, the autoload switch.

Broken plugins are real distributions made on the fly: a module plus a
``<name>-<version>.dist-info/`` with METADATA and entry_points.txt, put on ``sys.path``.
"""

import logging
import os
import sys

import pytest

from ganparts import plugins
from ganparts.plugins import BUILTIN_PLUGINS, get_plugin_manager, load_plugins
from ganparts.spec.experiment import json_schema
from ganparts.spec.files import load_spec
from tests.conftest import SPECS, make_distribution, run_cli

SPEC = """
from typing import Literal
from pydantic import BaseModel, ConfigDict
from ganparts.blocks.attention import AttentionSpec
from ganparts.hookspecs import hookimpl
from torch import nn
"""

NOOP = SPEC + """
@hookimpl
def ganparts_register(registry):
    pass
"""

# Plugin module bodies; each is reported failed with the given reason.
BROKEN = {
    "import_error": ("import ganparts_no_such_module", "import failed: ModuleNotFoundError: No module named 'ganparts_no_such_module'"),
    "hook_raises": (
        SPEC + """
class HalfSpec(AttentionSpec):
    kind: Literal["half"] = "half"

@hookimpl
def ganparts_register(registry):
    registry.register("attention", spec=HalfSpec, builder=lambda s, *, channels: nn.Identity())
    raise RuntimeError("boom after one registration")
""",
        "ganparts_register failed: RuntimeError: boom after one registration",
    ),
    "no_kind_literal": (
        SPEC + """
class NoKind(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = "nokind"

@hookimpl
def ganparts_register(registry):
    registry.register("loss", spec=NoKind, builder=lambda s: None)
""",
        "NoKind needs a field `kind: Literal['<name>']`",
    ),
    "extra_allowed": (
        SPEC + """
class Lax(BaseModel):
    kind: Literal["lax"] = "lax"

@hookimpl
def ganparts_register(registry):
    registry.register("loss", spec=Lax, builder=lambda s: None)
""",
        "Lax must set model_config = ConfigDict(extra='forbid')",
    ),
    "attention_without_resolution": (
        SPEC + """
class Nowhere(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["nowhere"] = "nowhere"

@hookimpl
def ganparts_register(registry):
    registry.register("attention", spec=Nowhere, builder=lambda s, *, channels: nn.Identity())
""",
        "Nowhere lacks resolution, which every attention spec needs; subclass ganparts.blocks.attention.AttentionSpec",
    ),
    "no_spec_model": (
        SPEC + """
@hookimpl
def ganparts_register(registry):
    registry.register("loss", spec=dict, builder=lambda s: None)
""",
        "spec must be a pydantic BaseModel subclass",
    ),
    "no_json_schema": (
        SPEC + """
from typing import Callable

class Opaque(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["opaque"] = "opaque"
    fn: Callable = print

@hookimpl
def ganparts_register(registry):
    registry.register("loss", spec=Opaque, builder=lambda s: None)
""",
        "Opaque has no JSON Schema",
    ),
    "misspelled_hook": (
        SPEC + """
@hookimpl
def ganparts_regster(registry):
    pass
""",
        "unknown hook 'ganparts_regster'",
    ),
    "hook_bad_argument": (
        SPEC + """
@hookimpl
def ganparts_register(registry, device):
    pass
""",
        "Argument(s) {'device'} are declared in the hookimpl but can not be found in the hookspec",
    ),
    "undecorated_hook": ("def ganparts_register(registry):\n    pass\n", "implements no ganparts hook"),
}


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A directory on ``sys.path`` to install throwaway plugin distributions into."""
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("gp_"):
            del sys.modules[name]


def report(loaded, name):
    (found,) = [r for r in loaded.reports if r.name == name]
    return found


def test_builtins_register_through_the_hook(registry):
    pm = get_plugin_manager()
    hooked = {impl.plugin_name for impl in pm.hook.ganparts_register.get_hookimpls()}
    assert set(BUILTIN_PLUGINS) <= hooked
    assert registry.get("attention", "sagan").plugin == "ganparts.blocks.attention"
    assert registry.get("generator", "dcgan").plugin == "ganparts.models.dcgan"


def test_builtin_catalogue():
    loaded = load_plugins(autoload=False)
    assert [r.name for r in loaded.reports] == list(BUILTIN_PLUGINS)
    assert all(r.builtin and r.status == "loaded" and r.distribution == "ganparts" for r in loaded.reports)
    registry = loaded.registry
    assert registry.list("attention") == ["sagan", "sagan_pooled"]
    assert registry.list("loss") == ["hinge", "lsgan", "ns", "wgan-gp"]
    assert {"mnist", "mnist-5k", "auto"} <= set(registry.list("dataset"))
    assert registry.list("penalty") == ["gp"]
    assert report(loaded, "ganparts.blocks.losses").blocks == {"loss": ("hinge", "lsgan", "ns", "wgan-gp"), "penalty": ("gp",)}


def test_importing_ganparts_registers_nothing():
    # Registration happens only through the hook: a fresh registry built from modules is empty.
    from ganparts.spec.registry import Registry

    import ganparts.blocks.attention  # noqa: F401

    assert Registry().list("attention") == []


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_plugin_is_reported_and_skipped(case, site, caplog):
    source, reason = BROKEN[case]
    distribution = make_distribution(site, f"gp_{case}", source, version="2.3")
    good = make_distribution(site, "gp_good", SPEC + """
class Fine(AttentionSpec):
    kind: Literal["fine"] = "fine"

class SaganReplacement(AttentionSpec):
    kind: Literal["sagan_pooled"] = "sagan_pooled"

@hookimpl
def ganparts_register(registry):
    registry.register("attention", spec=Fine, builder=lambda s, *, channels: nn.Identity())
    registry.register("attention", spec=SaganReplacement, builder=lambda s, *, channels: nn.Identity(), override=True)
""")
    with caplog.at_level(logging.WARNING, logger="ganparts"):
        loaded = load_plugins()

    broken = report(loaded, f"gp_{case}")
    assert (broken.status, broken.distribution, broken.version) == ("failed", distribution, "2.3")
    assert reason in broken.reason and broken.blocks == {}
    warnings = [r.message for r in caplog.records if f"gp_{case}" in r.message]
    assert warnings == [f"plugin gp_{case} ({distribution} 2.3) failed and was skipped: {broken.reason}"]
    # Nothing of it is kept; built-ins and the other plugin work.
    registry = loaded.registry
    assert not [e for e in registry.entries() if e.plugin == f"gp_{case}"] and "half" not in registry.list("attention")
    assert set(BUILTIN_PLUGINS) <= {e.plugin for e in registry.entries()}
    assert registry.get("attention", "sagan").plugin == "ganparts.blocks.attention"
    assert report(loaded, "gp_good").status == "loaded" and report(loaded, "gp_good").distribution == good
    # It asked to override a built-in, which only the user can allow: that one block is skipped.
    assert registry.get("attention", "sagan_pooled").plugin == "ganparts.blocks.attention"
    assert report(loaded, "gp_good").blocks == {"attention": ("fine",)}
    spec = load_spec(SPECS / "sagan_mnist.yaml", ["model.generator.attention.0.kind=fine"], registry=registry)
    assert spec.model.generator.attention[0].kind == "fine"
    assert "Fine" in json_schema(registry)["$defs"]


CLASH = SPEC + """
class Clashing(AttentionSpec):
    kind: Literal["{name}"] = "{name}"

class Own(AttentionSpec):
    kind: Literal["{own}"] = "{own}"

@hookimpl
def ganparts_register(registry):
    registry.register("attention", spec=Clashing, builder=lambda s, *, channels: nn.Identity(){override})
    registry.register("attention", spec=Own, builder=lambda s, *, channels: nn.Identity())
"""


def test_a_name_clash_skips_only_the_clashing_block_and_names_both_distributions(site, caplog):
    """Distributions load sorted by name: gp-alpha takes `axial` first; gp-beta keeps its other block."""
    make_distribution(site, "gp_beta", CLASH.format(name="axial", own="beta_only", override=""), version="0.2")
    make_distribution(site, "gp_alpha", CLASH.format(name="axial", own="alpha_only", override=""), version="0.1")
    with caplog.at_level(logging.WARNING, logger="ganparts"):
        loaded = load_plugins()
    registry = loaded.registry
    assert registry.get("attention", "axial").distribution == "gp-alpha"
    assert {"alpha_only", "beta_only"} <= set(registry.list("attention"))
    alpha, beta = report(loaded, "gp_alpha"), report(loaded, "gp_beta")
    assert alpha.status == beta.status == "loaded" and not alpha.skipped
    assert beta.blocks == {"attention": ("beta_only",)}
    (line,) = beta.skipped
    assert line.startswith("attention 'axial' was skipped: the name is taken by plugin gp_alpha (gp-alpha 0.1), which loaded first")
    assert "override" not in line  # gp-alpha was there legitimately: no advice to override it
    (warning,) = [r.message for r in caplog.records if "was skipped" in r.message]
    assert warning.startswith("plugin gp_beta (gp-beta 0.2): attention 'axial' was skipped") and "gp-alpha 0.1" in warning
    # The order does not depend on which distribution directory was made first.
    assert [r.name for r in loaded.reports if r.name.startswith("gp_")] == ["gp_alpha", "gp_beta"]


@pytest.mark.parametrize("allowed", ["", "gp_over", "*"])
def test_built_ins_win_unless_the_user_allows_a_plugin_to_override_them(allowed, site, monkeypatch):
    monkeypatch.setenv(plugins.OVERRIDES_ENV, allowed)
    make_distribution(site, "gp_over", CLASH.format(name="sagan", own="over_only", override=", override=True"))
    loaded = load_plugins()
    over = report(loaded, "gp_over")
    assert "over_only" in loaded.registry.list("attention")
    if allowed:
        assert loaded.registry.get("attention", "sagan").plugin == "gp_over" and not over.skipped
    else:
        assert loaded.registry.get("attention", "sagan").plugin == "ganparts.blocks.attention"
        (line,) = over.skipped
        assert "built-ins win unless the user allows it: GANPARTS_PLUGIN_OVERRIDES=gp_over" in line


def test_an_installed_plugin_may_override_another_installed_plugin(site):
    make_distribution(site, "gp_alpha", CLASH.format(name="axial", own="alpha_only", override=""))
    make_distribution(site, "gp_beta", CLASH.format(name="axial", own="beta_only", override=", override=True"))
    loaded = load_plugins()
    assert loaded.registry.get("attention", "axial").plugin == "gp_beta" and not report(loaded, "gp_beta").skipped


def test_a_failed_import_keeps_its_traceback_for_the_author(site):
    make_distribution(site, "gp_syntax", "def broken(:\n")
    broken = report(load_plugins(), "gp_syntax")
    assert broken.reason.startswith("import failed: SyntaxError") and "gp_syntax.py" in broken.details


def test_two_distributions_cannot_share_a_plugin_name(site):
    make_distribution(site, "gp_first", NOOP, plugin="same")
    make_distribution(site, "gp_second", NOOP, plugin="same")
    reports = [r for r in load_plugins().reports if r.name == "same"]
    assert [(r.distribution, r.status) for r in reports] == [("gp-first", "loaded"), ("gp-second", "failed")]
    assert "taken by gp-first" in reports[1].reason


@pytest.mark.parametrize("value, enabled", [("1", False), ("true", False), ("0", True), ("", True)])
def test_autoload_switch(value, enabled, site, monkeypatch):
    make_distribution(site, "gp_import_error", BROKEN["import_error"][0])
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, value)
    loaded = load_plugins()
    assert loaded.autoload is enabled
    assert any(r.name == "gp_import_error" for r in loaded.reports) is enabled
    assert all(r.builtin for r in loaded.reports) is not enabled
    assert any(r.name == "gp_import_error" for r in load_plugins(autoload=True).reports)


def test_reset_reloads_the_process_wide_registry_and_spec_model(site):
    from ganparts.spec.experiment import spec_model

    before = spec_model(plugins.default_registry())
    make_distribution(site, "gp_late", BROKEN["hook_raises"][0].replace('raise RuntimeError("boom after one registration")', ""))
    assert "half" not in plugins.default_registry().list("attention")
    plugins.reset()
    try:
        assert "half" in plugins.default_registry().list("attention")
        assert any(r.name == "gp_late" and r.status == "loaded" for r in plugins.plugin_reports())
        assert spec_model(plugins.default_registry()) is not before
        load_spec(SPECS / "sagan_mnist.yaml", ["model.generator.attention.0.kind=half"], registry=plugins.default_registry())
    finally:
        plugins.reset()


def test_cli_lists_plugins_and_survives_broken_ones(site):
    make_distribution(site, "gp_import_error", BROKEN["import_error"][0], version="0.4")
    make_distribution(site, "gp_clashing_name", CLASH.format(name="sagan", own="own_block", override=""))
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    listed = run_cli("plugins", env=env)
    assert listed.returncode == 1  # a health check: some plugin failed
    lines = listed.stdout.splitlines()
    row = next(line for line in lines if line.startswith("gp_import_error "))
    assert row.split()[1:4] == ["gp-import-error", "0.4", "failed"]
    assert "import failed: ModuleNotFoundError: No module named 'ganparts_no_such_module'" in row
    clashing = next(line for line in lines if line.startswith("gp_clashing_name "))
    assert "loaded  attention: own_block; attention 'sagan' was skipped: the name is taken by plugin ganparts.blocks.attention" in clashing
    assert "1 block(s) skipped for a name clash" in listed.stdout
    assert "attention: sagan, sagan_pooled" in next(line for line in lines if line.startswith("ganparts.blocks.attention "))
    assert "failed and was skipped" in listed.stderr and "Traceback" not in listed.stderr

    validated = run_cli("validate", SPECS / "sagan_mnist.yaml", env=env)
    assert validated.returncode == 0, validated.stderr
    assert validated.stderr.count("failed and was skipped") == 1 and validated.stderr.count("was skipped: the name is taken") == 1

    disabled = run_cli("plugins", env=env | {plugins.DISABLE_AUTOLOAD_ENV: "1"})
    assert disabled.returncode == 0 and "gp_" not in disabled.stdout + disabled.stderr
    assert f"{plugins.DISABLE_AUTOLOAD_ENV} is set" in disabled.stdout
