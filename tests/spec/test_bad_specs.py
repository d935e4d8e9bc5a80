"""The bad-spec corpus (tests/spec/bad_specs/, expectations in expected.tsv): each file is
refused by `validate` and `train` with a few `ganparts: error:` lines naming what is
wrong and where, exit status 2, no traceback, and no run directory left behind."""

import csv
import os

import pytest

import ganparts.cli.train
from ganparts.cli import main
from ganparts.spec.files import MAX_SPEC_BYTES
from tests.conftest import ROOT, run_cli

CORPUS = ROOT / "tests" / "spec" / "bad_specs"
with open(CORPUS / "expected.tsv", encoding="utf-8") as f:
    EXPECTED = {row[0]: row[1] for row in csv.reader(f, delimiter="\t") if row and not row[0].startswith("#")}
MAX_LINES = 13  # specfile.MAX_PROBLEMS lines, plus "… and N more"


def test_the_corpus_is_complete():
    on_disk = {p.name for p in CORPUS.iterdir()} - {"expected.tsv"}
    assert on_disk == set(EXPECTED) and len(EXPECTED) >= 40


def assert_refused(code, err, fragment):
    lines = err.splitlines()
    assert code == 2, err
    assert fragment in err, err
    assert "Traceback" not in err and 1 <= len(lines) <= MAX_LINES, err
    assert all(line.startswith("ganparts: error: ") for line in lines), err


@pytest.fixture
def no_training(monkeypatch):
    """A tripwire: a bad spec that got as far as building a Trainer fails the test at once."""

    def tripwire(*args, **kwargs):
        raise AssertionError("a bad spec reached training")

    monkeypatch.setattr(ganparts.cli.train, "Trainer", tripwire)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_refuses(name, capsys):
    code = main(["validate", str(CORPUS / name)])
    assert_refused(code, capsys.readouterr().err, EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_train_refuses_before_writing_anything(name, capsys, tmp_path, no_training):
    run = tmp_path / "run"
    code = main(["train", str(CORPUS / name), "--out", str(run), "--no-progress", "--device", "cpu"])
    assert_refused(code, capsys.readouterr().err, EXPECTED[name])
    assert not run.exists()


def test_a_100_mb_file_is_refused_unread(tmp_path, capsys, no_training):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(100 << 20)  # sparse: 100 MB long, no disk used
    code = main(["train", str(path), "--out", str(tmp_path / "run")])
    assert_refused(code, capsys.readouterr().err, f"104,857,600 bytes; a spec file may be at most {MAX_SPEC_BYTES:,}")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["directory", "missing", "device"])
def test_a_spec_path_that_is_not_a_file(kind, tmp_path, capsys, no_training):
    path = {"directory": tmp_path, "missing": tmp_path / "nope.yaml", "device": "/dev/zero"}[kind]
    if kind == "device" and not os.path.exists(path):
        pytest.skip("no /dev/zero here")
    code = main(["train", str(path), "--out", str(tmp_path / "run")])
    assert_refused(code, capsys.readouterr().err, "no such file" if kind == "missing" else "not a file")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["yaml_bomb.yaml", "python_object_tag.yaml"])
def test_the_real_command_exits_2_without_a_traceback(name, tmp_path):
    result = run_cli("train", CORPUS / name, "--out", tmp_path / "run")
    assert_refused(result.returncode, result.stderr, EXPECTED[name])
    assert not (tmp_path / "run").exists() and result.stdout == ""
    assert not os.path.exists("/tmp/ganparts-pwned")  # what python_object_tag.yaml runs under an unsafe loader
