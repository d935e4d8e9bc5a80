import errno
import os
import stat

import pytest

from ganparts.runs.atomic import append_text, atomic_path, atomic_write, fsync_dir, fsync_file
from ganparts.runs.layout import RunDir

OLD = b"old content\n"


@pytest.fixture
def synced(monkeypatch):
    """Record what each ``os.fsync`` flushes, as (path at that moment, is a directory)."""
    calls = []
    real = os.fsync

    def fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        calls.append((path, stat.S_ISDIR(os.fstat(fd).st_mode)))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


def existing(tmp_path):
    target = tmp_path / "data.json"
    target.write_bytes(OLD)
    return target


def test_writes_text_and_bytes_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "data.json"
    atomic_write(target, "ünïcode\n")
    assert target.read_bytes() == "ünïcode\n".encode("utf-8")
    atomic_write(target, b"\x00\xff")
    assert target.read_bytes() == b"\x00\xff"
    assert os.listdir(tmp_path) == ["data.json"]


def test_fsyncs_the_file_before_the_rename_and_the_directory_after(tmp_path, synced):
    target = existing(tmp_path)
    atomic_write(target, "new")
    (file_path, file_is_dir), (dir_path, dir_is_dir) = synced
    assert not file_is_dir and file_path.startswith(str(tmp_path / ".data.json.tmp-"))  # the data, still under its temporary name
    assert dir_is_dir and dir_path == str(tmp_path)
    assert target.read_text() == "new"


@pytest.mark.parametrize("error", [RuntimeError("library failed"), KeyboardInterrupt()])
def test_an_error_inside_atomic_path_keeps_the_old_file(tmp_path, error):
    target = existing(tmp_path)
    with pytest.raises(type(error)):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half a fi")
            raise error
    assert target.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["data.json"]


def test_data_that_cannot_be_encoded_keeps_the_old_file(tmp_path):
    target = existing(tmp_path)
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "lone surrogate \udc80")
    assert target.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["data.json"]


def test_a_failed_fsync_keeps_the_old_file(tmp_path, monkeypatch):
    target = existing(tmp_path)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        atomic_write(target, "new" * 1000)
    assert target.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["data.json"]


def test_atomic_path_keeps_the_suffix_for_libraries_that_pick_the_format_from_it(tmp_path, synced):
    from PIL import Image

    target = tmp_path / "grid.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".grid.png.tmp-") and tmp.suffix == ".png"
        Image.new("L", (4, 4)).save(tmp)
    assert target.read_bytes().startswith(b"\x89PNG") and os.listdir(tmp_path) == ["grid.png"]
    assert [is_dir for _, is_dir in synced] == [False, True]


def test_a_file_never_written_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "never.png"):
            pass
    assert os.listdir(tmp_path) == []


def test_append_text_appends_and_fsyncs(tmp_path, synced):
    log = tmp_path / "metrics.jsonl"
    append_text(log, "one\n")
    assert [is_dir for _, is_dir in synced] == [False, True]  # a new file: its directory entry is flushed too
    synced.clear()
    append_text(log, "two\n")
    assert log.read_text() == "one\ntwo\n"
    assert synced == [(str(log), False)]


def test_fsync_helpers_flush_the_path_given(tmp_path, synced):
    target = existing(tmp_path)
    fsync_file(target)
    fsync_dir(tmp_path)
    assert synced == [(str(target), False), (str(tmp_path), True)]


def test_run_directory_writes_go_through_atomic(tmp_path, monkeypatch):
    written = []
    monkeypatch.setattr("ganparts.runs.layout.atomic_write", lambda path, data: written.append(path))
    monkeypatch.setattr("ganparts.runs.layout.append_text", lambda path, text: written.append(path))
    run = RunDir(tmp_path)
    run.write_spec("name: x\n")
    run.write_progress({"step": 1})
    run.append_metrics([{"step": 1}])
    run.append_evaluations([{"step": 1}])
    assert written == [run.spec, run.progress, run.metrics, run.evaluations]
