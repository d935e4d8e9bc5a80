import json

import pytest
import torch

from ganparts.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)


def save(run, step, value=1.0):
    return save_checkpoint(run, step, {"w": torch.full((3,), value)}, {"extra": [1, 2]}, "name: x\n")


def test_round_trip(tmp_path):
    path = save(tmp_path, 7, 2.5)
    assert path.name == "step_00000007" and sorted(p.name for p in path.iterdir()) == ["spec.yaml", "state.json", "tensors.safetensors"]
    found = load_checkpoint(path)
    assert found.step == 7 and found.state["extra"] == [1, 2] and found.spec_text == "name: x\n"
    assert torch.equal(found.tensors["w"], torch.full((3,), 2.5))


def test_latest_ignores_unfinished_writes(tmp_path):
    save(tmp_path, 1)
    save(tmp_path, 20)
    (tmp_path / "checkpoints" / ".tmp-step_00000030-999").mkdir()  # a write killed half-way
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000001", "step_00000020"]
    assert latest_checkpoint(tmp_path).step == 20


def test_resaving_a_step_replaces_it(tmp_path):
    save(tmp_path, 5, 1.0)
    save(tmp_path, 5, 9.0)
    assert torch.equal(latest_checkpoint(tmp_path).tensors["w"], torch.full((3,), 9.0))
    assert len(list((tmp_path / "checkpoints").iterdir())) == 1


def test_prune_keeps_the_newest_and_clears_stale_temporaries(tmp_path):
    for step in (1, 2, 3, 4):
        save(tmp_path, step)
    (tmp_path / "checkpoints" / ".tmp-step_00000009-1").mkdir()
    prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()].__len__() == 2
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000003", "step_00000004"]


def test_no_checkpoint_is_none(tmp_path):
    assert latest_checkpoint(tmp_path) is None


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "tensors.safetensors").write_bytes((p / "tensors.safetensors").read_bytes()[:40]), "corrupt or truncated"),
        (lambda p: (p / "state.json").write_text("{not json"), "corrupt"),
        (lambda p: (p / "state.json").unlink(), "state.json is missing"),
        (lambda p: (p / "state.json").write_text(json.dumps({"format_version": 99, "step": 1})), "newer than this ganparts"),
        (lambda p: (p / "state.json").write_text("[]"), "not a ganparts checkpoint"),
    ],
)
def test_damaged_checkpoints_are_clear_errors(tmp_path, damage, message):
    path = save(tmp_path, 3)
    damage(path)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_a_planted_pickle_is_never_executed(tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = save(tmp_path, 1)
    (path / "tensors.safetensors").write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()
