"""The train_block fixture is ganparts' pytest plugin, light to load in every test run."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.conftest import ROOT


def test_the_fixture_is_declared_as_a_pytest_plugin_and_imports_nothing_heavy():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module = project["entry-points"]["pytest11"]["ganparts"]
    probe = f"import sys, {module} as m; print(callable(m.train_block), 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["True", "False"], result.stderr


def test_train_block_trains_through_the_trainer_into_the_test_s_directory(train_block, tmp_path):
    trained = train_block("norm", "group", steps=2)
    assert trained.trainer.step == 2 and trained.trainer.run.path.parent == tmp_path
    assert [row["step"] for row in trained.rows] == [1, 2]
    assert trained.spec.model.generator.norm.kind == "group" and trained.spec.model.discriminator.norm.kind == "group"
