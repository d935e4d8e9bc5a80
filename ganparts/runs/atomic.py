"""Durable file writes: every file ganparts writes goes through this module.

Readers (the app, ``ganparts runs``, a resumed run) must see a file whole or not at all,
even when the writer is killed or the machine loses power. So a file is written under a
hidden temporary name in its own directory (one file system, so the rename is atomic),
fsynced, renamed onto its name, and then the directory is fsynced so that the rename
itself survives a crash. Without the first fsync a crash soon after the rename can leave
an empty file under the real name (ext4, xfs): the rename reaches the disk before the data.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` (text as UTF-8); the old content stays if anything fails."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(payload)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write in place of ``path``, for libraries that open files themselves.

    On a clean exit the file is fsynced and renamed onto ``path``; on any exception (Ctrl-C
    included) it is removed and ``path`` keeps its old content. The temporary name ends in
    ``path``'s suffix because PIL, torchvision and matplotlib pick the format from it.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def append_text(path: str | Path, text: str) -> None:
    """Append ``text`` to ``path`` and fsync it.

    Logs are appended, not replaced: a crash can at worst tear the last line, which the
    readers of JSON-lines logs skip.
    """
    path = Path(path)
    created = not path.exists()
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    if created:  # a new file's name lives in the directory, which needs its own fsync
        fsync_dir(path.parent)


def fsync_file(path: str | Path) -> None:
    """Flush a file that something else wrote (safetensors and PIL do not fsync)."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(path: str | Path) -> None:
    """Flush a directory's entries, so that files created or renamed in it stay after a crash."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
