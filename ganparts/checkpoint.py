"""Atomic checkpoints: tensors in safetensors, the rest of the state in JSON, the spec beside them.

A checkpoint is a directory ``checkpoints/step_00000500/`` holding ``tensors.safetensors``,
``state.json`` and ``spec.yaml``. It is written under a hidden temporary name, every file
and the directory are fsynced, and only then renamed into place — so a directory named
``step_*`` is always complete. Nothing here unpickles: loading a checkpoint cannot run code.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganparts.errors import UserError

FORMAT_VERSION = 1
TENSORS, STATE, SPEC = "tensors.safetensors", "state.json", "spec.yaml"
PREFIX = "step_"


class CheckpointError(UserError):
    """A checkpoint that is missing, incomplete, corrupt or from an incompatible version."""


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
    """Write checkpoint ``step`` atomically and return its directory."""
    parent = checkpoint_dir(run_dir)
    parent.mkdir(parents=True, exist_ok=True)
    final = parent / f"{PREFIX}{step:08d}"
    tmp = parent / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    save_file(tensors, str(tmp / TENSORS), metadata={"format_version": str(FORMAT_VERSION)})
    _write_text(tmp / STATE, json.dumps({"format_version": FORMAT_VERSION, "step": step, **state}, indent=1))
    _write_text(tmp / SPEC, spec_text)
    _fsync_path(tmp / TENSORS)  # safetensors does not fsync on its own
    _fsync_path(tmp)
    if final.exists():  # re-saving a step (after resume): move the old one aside, then drop it
        old = parent / f".old-{final.name}-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    _fsync_path(parent)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoint directories of a run, oldest first."""
    parent = checkpoint_dir(run_dir)
    if not parent.is_dir():
        return []
    found = [p for p in parent.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and p.name[len(PREFIX):].isdigit()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX):]))


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints, and leftovers of interrupted writes."""
    for stale in checkpoint_dir(run_dir).glob(".tmp-*"):
        if not stale.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Read one checkpoint directory, raising :class:`CheckpointError` on anything amiss."""
    path = Path(path)
    for name in (TENSORS, STATE, SPEC):
        if not (path / name).is_file():
            raise CheckpointError(f"{path}: incomplete checkpoint, {name} is missing")
    try:
        state = json.loads((path / STATE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path / STATE}: corrupt ({err})") from None
    version = state.get("format_version") if isinstance(state, dict) else None
    if not isinstance(version, int) or not isinstance(state.get("step"), int):
        raise CheckpointError(f"{path / STATE}: not a ganparts checkpoint state (no format_version/step)")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {version} is newer than this ganparts understands ({FORMAT_VERSION}); upgrade ganparts"
        )
    try:
        tensors = load_file(str(path / TENSORS), device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path / TENSORS}: corrupt or truncated ({err})") from None
    return Checkpoint(path, state["step"], tensors, state, (path / SPEC).read_text(encoding="utf-8"))


def latest_checkpoint(run_dir: Path, device: torch.device | str = "cpu") -> Checkpoint | None:
    """The newest checkpoint of a run, or None when it has none."""
    found = list_checkpoints(run_dir)
    return load_checkpoint(found[-1], device) if found else None


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
