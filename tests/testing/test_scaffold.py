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


SCAFFOLDED = {"attention": "kitattention", "norm": "kit-norm", "loss": "kit_loss"}  # one name style each


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """One package of every kind, written by the command and pip-installed (in one call) beside
    ganparts without touching its environment: --target plus PYTHONPATH."""
    root = tmp_path_factory.mktemp("scaffold")
    site, packages = root / "site", {kind: root / kind for kind in SCAFFOLDED}
    for kind, name in SCAFFOLDED.items():
        assert main(["new-plugin", name, "--kind", kind, "--dir", str(packages[kind])]) == 0
    written = {kind: sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) for kind, package in packages.items()}
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", "--target", str(site), *map(str, packages.values())],
        capture_output=True, text=True, timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    return root, packages, written, {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize("kind", SCAFFOLDED)
def test_a_new_plugin_has_its_files_and_passes_its_own_tests(kind, installed):
    _, packages, written, env = installed
    name, package = SCAFFOLDED[kind], packages[kind]
    module = names(name)["module"]
    assert written[kind] == [
        "README.md", f"examples/{name}.yaml", f"{module}.py", "pyproject.toml", "tests/conftest.py", f"tests/test_{module}.py",
    ]
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["ganparts"] == {name: module} and project["name"] == names(name)["dist"]
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=package, capture_output=True, text=True, timeout=600, env={**os.environ, **env},
    )
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert "4 passed" in tested.stdout


def test_new_plugins_pass_the_check_without_a_checkout(installed):
    root, _, _, env = installed
    checked = run_cli("plugins", "--check", *SCAFFOLDED.values(), env=env, cwd=root)  # no ganparts checkout needed
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    column = lines[0].index("result")
    for kind, name in SCAFFOLDED.items():
        block = f"{kind}:{name} "
        results = {line[len(block):column].strip(): line[column:].split()[0] for line in lines if line.startswith(block)}
        assert results["builds"] == results["trains 2 steps through the Trainer"] == "pass", kind
        assert set(results.values()) <= {"pass", "skip"} and len(results) > 4, kind
        assert any(line.startswith(f"{name}: ") and line.endswith(" 0 failed") for line in lines), kind


def test_the_command_says_what_it_wrote(tmp_path, capsys):
    assert main(["new-plugin", "kitattention", "--dir", str(tmp_path / "p")]) == 0
    assert f"wrote plugin kitattention (attention block `kitattention`) to {tmp_path / 'p'}" in capsys.readouterr().out


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
