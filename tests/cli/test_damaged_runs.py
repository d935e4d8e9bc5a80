"""`ganparts sample` and `ganparts train --resume` on damaged runs: a short error naming
the damaged file, exit status 2, no traceback, nothing executed from the run directory."""

import json
import pickle
import shutil

import pytest

import ganparts.cli.train
from ganparts.cli import main
from tests.conftest import SPECS, run_cli, tiny_overrides

SAGAN = SPECS / "sagan_mnist.yaml"
LATEST = "checkpoints/step_00000004"


def sets(**extra):
    return [arg for kv in tiny_overrides(**extra) for arg in ("--set", kv)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run with checkpoints at steps 2 and 4."""
    run = tmp_path_factory.mktemp("damaged") / "run"
    result = run_cli("train", SAGAN, "--out", run, "--no-progress", *sets(**{"train.steps": "4", "train.checkpoint_every": "2"}))
    assert result.returncode == 0, result.stderr
    return run


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


@pytest.fixture
def no_training(monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("a damaged run reached training")

    monkeypatch.setattr(ganparts.cli.train, "Trainer", tripwire)


class Exploit:
    """Unpickling this creates the file named in MARKER: proof that code ran."""

    marker = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def plant_pickle(checkpoint):
    Exploit.marker = checkpoint.parent.parent / "pwned"
    (checkpoint / "tensors.safetensors").write_bytes(pickle.dumps(Exploit()))


DAMAGE = {
    "truncated": (lambda p: (p / "tensors.safetensors").write_bytes((p / "tensors.safetensors").read_bytes()[:1000]), "tensors.safetensors: corrupt or truncated"),
    "bit-flipped": (lambda p: flip_last_byte(p / "tensors.safetensors"), "does not match the SHA-256 recorded when it was written"),
    "state-garbage": (lambda p: (p / "state.json").write_text("{not json"), "state.json: corrupt"),
    "tensors-missing": (lambda p: (p / "tensors.safetensors").unlink(), "incomplete checkpoint, tensors.safetensors is missing"),
    "spec-missing": (lambda p: (p / "spec.yaml").unlink(), "incomplete checkpoint, spec.yaml is missing"),
    "newer-format": (
        lambda p: (p / "state.json").write_text(json.dumps(json.loads((p / "state.json").read_text()) | {"format_version": 99})),
        "checkpoint format 99 is newer than this ganparts understands",
    ),
    "planted-pickle": (plant_pickle, "tensors.safetensors: corrupt or truncated"),
}


def assert_refused(code, err, fragment):
    assert code == 2 and fragment in err, err
    assert "Traceback" not in err and all(line.startswith("ganparts: error: ") for line in err.splitlines()), err


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_sample_refuses_a_damaged_checkpoint(damage, run, tmp_path, capsys):
    harm, message = DAMAGE[damage]
    harm(run / LATEST)
    code = main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.npz"), "--device", "cpu"])
    assert_refused(code, capsys.readouterr().err, message)
    assert not (tmp_path / "s.npz").exists() and not (run / "pwned").exists()


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_resume_refuses_a_damaged_checkpoint_and_names_the_one_before(damage, run, capsys, no_training):
    harm, message = DAMAGE[damage]
    harm(run / LATEST)
    code = main(["train", "--out", str(run), "--resume", "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert_refused(code, err, message)
    assert f"the run also has step_00000002; to resume from it, move the damaged checkpoint out of {run / 'checkpoints'}" in err
    assert not (run / "pwned").exists()


def test_after_moving_the_damaged_one_away_resume_continues_from_the_one_before(run, tmp_path):
    flip_last_byte(run / LATEST / "tensors.safetensors")
    shutil.move(run / LATEST, tmp_path / "damaged")
    result = run_cli("train", "--out", run, "--resume", "--no-progress", "--set", "train.steps=5")
    assert result.returncode == 0, result.stderr
    assert f"resuming {run} from step 2 of 5" in result.stdout
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5]


def test_a_checkpoint_of_another_spec_is_refused(run, capsys, tmp_path, no_training):
    # A checkpoint whose spec says width 16 over weights of width 8, as if copied in from
    # another run (and from before digests, so the mismatch itself is what is found).
    foreign = run / "checkpoints" / "step_00000009"
    shutil.copytree(run / LATEST, foreign)
    (foreign / "spec.yaml").write_text((foreign / "spec.yaml").read_text().replace("width: 8", "width: 16"))
    state = json.loads((foreign / "state.json").read_text())
    del state["sha256"]
    (foreign / "state.json").write_text(json.dumps(state | {"step": 9}))
    code = main(["sample", str(run), "--n", "2", "--out", str(tmp_path / "s.npz"), "--device", "cpu"])
    assert_refused(code, capsys.readouterr().err, "step_00000009: weights do not match its spec")
    code = main(["train", str(SAGAN), "--out", str(run), "--resume", "--device", "cpu", *sets(**{"train.steps": "12"})])
    assert_refused(code, capsys.readouterr().err, "model.generator.width: 8 here, 16 in the checkpoint")


def test_sample_of_a_run_without_checkpoints(run, tmp_path, capsys):
    shutil.rmtree(run / "checkpoints")
    code = main(["sample", str(run), "--out", str(tmp_path / "s.npz")])
    assert_refused(code, capsys.readouterr().err, "no checkpoint yet")

