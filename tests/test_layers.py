"""The layering of ganparts/ (docs/architecture.md): enforced, so it cannot rot."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from ganparts.cli import COMMAND_MODULES
from ganparts.plugins import BUILTIN_PLUGINS
from tests.conftest import ROOT

LAYERS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]["layers"]


def layer_of(module: str) -> int:
    """Index of ``module``'s layer in the contract (0 is the top)."""
    for index, layer in enumerate(LAYERS):
        if any(module == m or module.startswith(m + ".") for m in layer.split(" | ")):
            return index
    raise AssertionError(f"{module} is in no layer of the contract; add its package to [tool.importlinter]")


def test_import_linter_contracts_are_kept():
    """Lower layers never import higher ones, and no package's modules import each other in a cycle
    (function-level imports included). In its own process: import-linter reconfigures logging."""
    lint = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    result = subprocess.run([sys.executable, "-c", lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module", BUILTIN_PLUGINS)
def test_built_in_plugins_are_imported_downwards(module):
    """The plugin manager imports built-ins by name, which the linter cannot see: each must sit below it."""
    assert layer_of(module) > layer_of("ganparts.plugins")


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_commands_live_in_the_cli(module):
    assert layer_of(module) == layer_of("ganparts.cli")


def test_every_subpackage_is_in_a_layer():
    packages = sorted(p.name for p in (ROOT / "ganparts").iterdir() if p.is_dir() and (p / "__init__.py").exists())
    for package in packages:
        layer_of(f"ganparts.{package}")
