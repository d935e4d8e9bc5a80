"""Atomic checkpoints: tensors in safetensors, the rest of the state in JSON, the spec beside them.

A checkpoint is a directory ``checkpoints/step_00000500/`` holding ``tensors.safetensors``,
``state.json`` and ``spec.yaml``. It is written under a hidden temporary name, each file
through :mod:`ganparts.runs.atomic` (so every file and the directory are fsynced), and
only then renamed into place — so a directory named ``step_*`` is always complete.
``state.json`` records the SHA-256 of the other two files, so a checkpoint damaged after
writing is refused rather than loaded. Nothing here unpickles: loading a checkpoint
cannot run code.

A process killed at any moment leaves at worst hidden ``.tmp-*`` (a write in progress),
``.del-*`` (a deletion in progress) or ``.old-*`` (a step being re-saved) directories;
readers ignore the first two, fall back on the third, and the next writer clears them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from ganparts.errors import UserError, first_line
from ganparts.runs.atomic import atomic_write, fsync_dir

FORMAT_VERSION = 1
TENSORS, STATE, SPEC = "tensors.safetensors", "state.json", "spec.yaml"
PREFIX = "step_"
HASH_CHUNK = 1 << 20


class CheckpointError(UserError):
    """A checkpoint that is missing, incomplete, corrupt or from an incompatible version."""


class CheckpointWriteError(CheckpointError):
    """Writing a checkpoint failed (disk full, read-only, …); nothing partial was left behind."""


@dataclass
class Checkpoint:
    path: Path
    step: int
    tensors: dict[str, torch.Tensor]
    state: dict[str, Any]
    spec_text: str

    def group(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors saved under ``prefix.`` with the prefix removed (e.g. a module's state dict)."""
        cut = len(prefix) + 1
        return {k[cut:]: v for k, v in self.tensors.items() if k.startswith(prefix + ".")}


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def save_checkpoint(run_dir: Path, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any], spec_text: str) -> Path:
    """Write checkpoint ``step`` atomically and return its directory.

    Raises :class:`CheckpointWriteError` when the file system refuses (disk full, …),
    after removing the partial write: the checkpoints already there stay as they were.
    """
    parent = checkpoint_dir(run_dir)
    final = parent / f"{PREFIX}{step:08d}"
    tmp = parent / f".tmp-{final.name}-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
        # Serialised in memory and written by Python: safetensors' own writer reports a full
        # disk as SafetensorError, with no errno to tell it from a corrupt tensor.
        atomic_write(tmp / TENSORS, save(tensors, metadata={"format_version": str(FORMAT_VERSION)}))
        atomic_write(tmp / SPEC, spec_text)
        digests = {TENSORS: _sha256(tmp / TENSORS), SPEC: _sha256(tmp / SPEC)}
        atomic_write(tmp / STATE, json.dumps({"format_version": FORMAT_VERSION, "step": step, "sha256": digests, **state}, indent=1))
    except BaseException as err:  # a second Ctrl-C lands here too: never leave half a checkpoint
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError):
            raise _write_error(run_dir, step, err) from None
        raise
    if final.exists():  # re-saving a step (after resume): move the old one aside, then drop it
        old = parent / f".old-{final.name}-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    fsync_dir(parent)
    return final


def _write_error(run_dir: Path, step: int, err: OSError) -> CheckpointWriteError:
    reason = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += " (the disk is full)"
    return CheckpointWriteError(f"could not write the checkpoint of step {step} in {checkpoint_dir(run_dir)}: {reason};\n{last_complete(run_dir)}")


def last_complete(run_dir: Path) -> str:
    """Which checkpoint a failed run can go back to, as the end of an error message."""
    found = list_checkpoints(run_dir)
    return f"the last complete checkpoint is {found[-1].name}" if found else "no checkpoint was written yet"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoint directories of a run, oldest first.

    A step whose re-save was cut off between its two renames exists only as ``.old-step_*``;
    that directory is complete, so it stands in for the step.
    """
    parent = checkpoint_dir(run_dir)
    if not parent.is_dir():
        return []
    found = {step: p for p in parent.iterdir() if (step := step_of_name(p.name)) is not None and p.is_dir()}
    for old in parent.glob(f".old-{PREFIX}*"):
        step = _step_of_old(old.name)
        if step is not None and step not in found and old.is_dir():
            found[step] = old
    return [found[step] for step in sorted(found)]


def checkpoint_step(path: Path) -> int | None:
    """The step a checkpoint directory holds, from its name alone (None: not a checkpoint's name)."""
    name = Path(path).name
    return _step_of_old(name) if name.startswith(".old-") else step_of_name(name)


def step_of_name(name: str) -> int | None:
    """``step_00000500`` → 500; None for any other name."""
    digits = name[len(PREFIX):]
    return int(digits) if name.startswith(PREFIX) and digits.isdigit() else None


def _step_of_old(name: str) -> int | None:
    """``.old-step_00000500-PID`` (a step set aside while it is re-saved) → 500."""
    return step_of_name(name.removeprefix(".old-").rsplit("-", 1)[0]) if name.startswith(".old-") else None


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints, and leftovers of interrupted writes.

    A checkpoint is renamed to a hidden ``.del-*`` name before it is deleted, so a process
    killed mid-deletion never leaves a half-deleted ``step_*`` directory behind.
    """
    parent = checkpoint_dir(run_dir)
    for old in parent.glob(f".old-{PREFIX}*"):  # a re-save cut off between renames: restore or drop it
        step = _step_of_old(old.name)
        if step is None:
            continue
        final = parent / f"{PREFIX}{step:08d}"
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(final)
    for stale in [*parent.glob(".tmp-*"), *parent.glob(".del-*")]:
        if not stale.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)
    for old in list_checkpoints(run_dir)[:-keep]:
        doomed = parent / f".del-{old.name}-{os.getpid()}"
        old.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Read one checkpoint directory, raising :class:`CheckpointError` on anything amiss."""
    path = Path(path)
    for name in (TENSORS, STATE, SPEC):
        if not (path / name).is_file():
            raise CheckpointError(f"{path}: incomplete checkpoint, {name} is missing")
    try:
        state = json.loads((path / STATE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise CheckpointError(f"{path / STATE}: corrupt ({first_line(err)})") from None
    version = state.get("format_version") if isinstance(state, dict) else None
    if not isinstance(version, int) or not isinstance(state.get("step"), int):
        raise CheckpointError(f"{path / STATE}: not a ganparts checkpoint state (no format_version/step)")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {version} is newer than this ganparts understands ({FORMAT_VERSION}); upgrade ganparts"
        )
    named = checkpoint_step(path)
    if named is not None and named != state["step"]:
        raise CheckpointError(f"{path}: the directory is named for step {named} but its state.json says step {state['step']}")
    _verify_digests(path, state.get("sha256"))
    try:
        tensors = load_file(str(path / TENSORS), device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path / TENSORS}: corrupt or truncated ({first_line(err)})") from None
    try:
        spec_text = (path / SPEC).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise CheckpointError(f"{path / SPEC}: corrupt (not UTF-8 text at byte {err.start})") from None
    return Checkpoint(path, state["step"], tensors, state, spec_text)


def _verify_digests(path: Path, digests: Any) -> None:
    """Compare the files with the SHA-256 digests saved with them (checkpoints from before digests have none)."""
    if digests is None:
        return
    if not isinstance(digests, dict):
        raise CheckpointError(f"{path / STATE}: corrupt (sha256 is not a mapping of file names to digests)")
    for name in (TENSORS, SPEC):
        expected = digests.get(name)
        if expected is not None and _sha256(path / name) != expected:
            raise CheckpointError(f"{path / name}: corrupt or truncated (its content does not match the SHA-256 recorded when it was written)")


def latest_checkpoint(run_dir: Path, device: torch.device | str = "cpu") -> Checkpoint | None:
    """The newest checkpoint of a run, or None when it has none."""
    found = list_checkpoints(run_dir)
    return load_checkpoint(found[-1], device) if found else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
