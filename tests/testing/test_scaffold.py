"""``ganparts new-plugin``: the package it writes installs, passes its own tests and ``plugins --check``."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import pytest

from ganparts.cli import main
from ganparts.testing.scaffold import KINDS, names
from tests.conftest import run_cli


@pytest.mark.slow
@pytest.mark.parametrize("kind, name", [("attention", "kitattention"), ("norm", "kit-norm"), ("loss", "kit_loss")])
def test_a_new_plugin_installs_and_passes_its_tests_and_the_check(kind, name, tmp_path, capsys):
    package, site = tmp_path / "package", tmp_path / "site"
    assert main(["new-plugin", name, "--kind", kind, "--dir", str(package)]) == 0
    assert f"wrote plugin {name} ({kind} block `{name}`) to {package}" in capsys.readouterr().out
    module = names(name)["module"]
    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == [
        "README.md", f"examples/{name}.yaml", f"{module}.py", "pyproject.toml", "tests/conftest.py", f"tests/test_{module}.py",
    ]
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["ganparts"] == {name: module} and project["name"] == names(name)["dist"]

    # `pip install` beside ganparts without touching its environment: --target plus PYTHONPATH.
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", "--target", str(site), str(package)],
        capture_output=True, text=True, timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=package, capture_output=True, text=True, timeout=600, env={**os.environ, **env},
    )
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert "4 passed" in tested.stdout

    checked = run_cli("plugins", "--check", name, env=env, cwd=tmp_path)  # no ganparts checkout needed
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    column = lines[0].index("result")
    results = {line[:column].split("  ")[1].strip(): line[column:].split()[0] for line in lines if line.startswith(f"{kind}:{name} ")}
    assert results["builds"] == results["trains 2 steps through the Trainer"] == "pass"
    assert set(results.values()) <= {"pass", "skip"} and len(results) > 4
    assert checked.stdout.strip().endswith("0 failed")


def test_every_kind_the_command_offers_has_a_template():
    assert KINDS == ("attention", "norm", "loss")
    assert names("pixel-norm") == {
        "name": "pixel-norm", "dist": "ganparts-pixel-norm", "module": "ganparts_pixel_norm", "Class": "PixelNorm", "function": "pixel_norm",
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["Axial"], "NAME 'Axial': use lower-case letters and digits"),
        (["two words"], "NAME 'two words': use lower-case letters and digits"),
        (["sagan"], "NAME 'sagan': the attention block 'sagan' exists already (plugin ganparts.blocks.attention (ganparts"),
        (["hinge", "--kind", "loss"], "NAME 'hinge': the loss block 'hinge' exists already"),
    ],
)
def test_bad_names_are_one_line_and_exit_2(args, message, tmp_path, capsys):
    assert main(["new-plugin", *args, "--dir", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ganparts: error: {message}") and len(err.splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_it_does_not_write_into_a_directory_that_holds_something(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["new-plugin", "axial", "--dir", str(tmp_path)]) == 2
    assert f"--dir {tmp_path}: exists and is not an empty directory" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_without_dir_it_writes_ganparts_name_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new-plugin", "axial", "--kind", "norm"]) == 0
    assert (tmp_path / "ganparts-axial" / "ganparts_axial.py").read_text().startswith('"""axial: a ganparts norm block')
