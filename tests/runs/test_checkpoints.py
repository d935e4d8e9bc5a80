import json

import pytest
import torch

from ganparts.runs.atomic import atomic_write
from ganparts.runs.checkpoints import (
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


def flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: flip_last_byte(p / "tensors.safetensors"), "tensors.safetensors: corrupt or truncated (its content does not match the SHA-256"),
        (lambda p: (p / "spec.yaml").write_text("name: edited\n"), "spec.yaml: corrupt or truncated (its content does not match the SHA-256"),
        (lambda p: (p / "tensors.safetensors").unlink(), "tensors.safetensors is missing"),
        (lambda p: (p / "spec.yaml").unlink(), "spec.yaml is missing"),
        (lambda p: (p / "state.json").write_text(json.dumps({"format_version": 1, "step": 4})), "named for step 3 but its state.json says step 4"),
        (lambda p: (p / "state.json").write_text("[" * 100000), "state.json: corrupt"),
        (lambda p: (p / "state.json").write_bytes(b"\xff\xfe{}"), "state.json: corrupt"),
    ],
)
def test_more_damage_is_a_clear_error(tmp_path, damage, message):
    path = save(tmp_path, 3)
    damage(path)
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path)
    assert message in str(raised.value)


def test_a_checkpoint_from_before_digests_still_loads_but_bad_text_is_refused(tmp_path):
    path = save(tmp_path, 3)
    state = json.loads((path / "state.json").read_text())
    del state["sha256"]
    (path / "state.json").write_text(json.dumps(state))
    assert load_checkpoint(path).step == 3
    (path / "spec.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(CheckpointError, match="spec.yaml: corrupt \\(not UTF-8 text at byte 9\\)"):
        load_checkpoint(path)


def test_a_resave_cut_off_between_its_renames_loses_nothing(tmp_path):
    save(tmp_path, 4, 1.0)
    save(tmp_path, 5, 2.0)
    folder = tmp_path / "checkpoints"
    # What a process killed inside save_checkpoint(step 5 again) leaves: the old step set
    # aside, the new one still under its temporary name.
    (folder / "step_00000005").rename(folder / ".old-step_00000005-999")
    (folder / ".tmp-step_00000005-999").mkdir()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000004", ".old-step_00000005-999"]
    assert latest_checkpoint(tmp_path).step == 5
    prune_checkpoints(tmp_path, keep=3)  # the next writer puts it back and clears the rest
    assert sorted(p.name for p in folder.iterdir()) == ["step_00000004", "step_00000005"]
    assert torch.equal(latest_checkpoint(tmp_path).tensors["w"], torch.full((3,), 2.0))


def test_a_deletion_cut_off_half_way_is_never_listed(tmp_path):
    save(tmp_path, 1)
    save(tmp_path, 2)
    half_deleted = tmp_path / "checkpoints" / ".del-step_00000001-999"
    (tmp_path / "checkpoints" / "step_00000001").rename(half_deleted)
    (half_deleted / "tensors.safetensors").unlink()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000002"]
    prune_checkpoints(tmp_path, keep=3)
    assert not half_deleted.exists()


def partial_write_then(error):
    """An atomic_write whose write of the tensors stops half-way with ``error``."""
    def fake_atomic_write(path, data):
        if path.name != "tensors.safetensors":
            return atomic_write(path, data)
        with open(path.with_name(".tensors.tmp"), "wb") as f:
            f.write(data[: len(data) // 2])  # half a file, as a full disk leaves it
        raise error

    return fake_atomic_write


def test_a_full_disk_mid_write_leaves_the_old_checkpoints_intact(tmp_path, monkeypatch):
    import errno

    import ganparts.runs.checkpoints

    save(tmp_path, 1, 7.0)
    monkeypatch.setattr(ganparts.runs.checkpoints, "atomic_write", partial_write_then(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(CheckpointError) as raised:
        save(tmp_path, 2)
    assert "could not write the checkpoint of step 2" in str(raised.value) and "No space left on device (the disk is full)" in str(raised.value)
    assert "the last complete checkpoint is" in str(raised.value) and "step_00000001" in str(raised.value)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step_00000001"]  # no partial directory left
    assert torch.equal(latest_checkpoint(tmp_path).tensors["w"], torch.full((3,), 7.0))


def test_a_second_ctrl_c_mid_write_leaves_nothing_partial(tmp_path, monkeypatch):
    import ganparts.runs.checkpoints

    monkeypatch.setattr(ganparts.runs.checkpoints, "atomic_write", partial_write_then(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path, 1)
    assert list((tmp_path / "checkpoints").iterdir()) == []
