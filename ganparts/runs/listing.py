"""A folder of runs: safe run names, listing, and what the viewers read from each run.

The CLI writes one run directory per ``--out``; the app keeps its runs side by side in
one *runs root* (``--runs DIR``, default ``./runs``). A run is addressed in the app by
its name only, never by a path a browser sent, so a name must stay inside the root.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganparts.runs import checkpoints as ckpt
from ganparts.errors import UserError
from ganparts.runs.layout import RunDir

RUNS_ENV = "GANPARTS_RUNS"
# Letters, digits, '.', '_' and '-', starting with a letter or digit: no separators, no
# '..', no hidden names, nothing a shell or a URL would need to quote.
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class RunNameError(UserError, ValueError):
    """A run name that could escape the runs root, or one that is already taken."""


def default_runs_root() -> Path:
    """``$GANPARTS_RUNS`` if set, else ``./runs``."""
    return Path(os.environ.get(RUNS_ENV) or "runs").resolve()


def check_run_name(name: str) -> str:
    """``name`` if it is a valid run name, else :class:`RunNameError` saying what is allowed."""
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name) or ".." in name:
        raise RunNameError(
            f"run name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            "(no '/', no '..')"
        )
    return name


def run_path(root: str | Path, name: str) -> Path:
    """The directory of run ``name`` inside ``root`` (which it can never leave)."""
    root = Path(root).resolve()
    path = (root / check_run_name(name)).resolve()
    if path.parent != root:  # a symlink inside the root pointing elsewhere
        raise RunNameError(f"run name {name!r}: resolves outside the runs folder {root}")
    return path


def new_run_path(root: str | Path, name: str) -> Path:
    """Like :func:`run_path`, for a run about to be created: refuses a name already in use."""
    path = run_path(root, name)
    if path.exists():
        raise RunNameError(f"run name {name!r} is taken (a run exists in {path}); choose another name or resume that run")
    return path


def suggest_run_name(root: str | Path, base: str) -> str:
    """``base`` made into a valid name, numbered (``base-2`` …) if taken."""
    stem = re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "-", base)).strip("-._")[:56] or "run"
    root = Path(root)
    if not (root / stem).exists():
        return stem
    number = 2
    while (root / f"{stem}-{number}").exists():
        number += 1
    return f"{stem}-{number}"


@dataclass(frozen=True)
class RunInfo:
    """What a listing shows about one run."""

    name: str
    path: Path
    state: str  # from progress.json: running / stopped / finished; "new" before training wrote any
    step: int
    steps: int | None
    updated: float  # seconds since the epoch of the newest progress or spec write
    checkpoints: int


def list_runs(root: str | Path) -> list[RunInfo]:
    """Every run directory in ``root`` (one holding a spec.yaml), most recently updated first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = []
    for path in root.iterdir():
        if not (RUN_NAME.fullmatch(path.name) and path.is_dir() and (path / "spec.yaml").is_file()):
            continue
        run = RunDir(path)
        progress = run.read_progress() or {}
        updated = max(p.stat().st_mtime for p in (run.spec, run.progress) if p.exists())
        runs.append(RunInfo(
            name=path.name, path=path, state=progress.get("state", "new"), step=progress.get("step", 0),
            steps=progress.get("steps"), updated=updated, checkpoints=len(ckpt.list_checkpoints(path)),
        ))
    return sorted(runs, key=lambda r: r.updated, reverse=True)


def checkpoint_steps(run: str | Path) -> dict[int, Path]:
    """A run's complete checkpoints by step, oldest first."""
    return {step_of(p): p for p in ckpt.list_checkpoints(Path(run))}


def step_of(path: str | Path) -> int:
    """The step in a sample, attention picture or checkpoint name (``step_00000500.png`` → 500)."""
    step = ckpt.step_of_name(Path(path).stem)
    if step is None:
        raise ValueError(f"{path}: not a step_<N> name")
    return step


def read_evaluation(run: str | Path) -> dict[str, float]:
    """Scores of the run's latest ``ganparts eval`` (``evaluation.json``): the step evaluated,
    the generated images' metrics (``fid``, ``kid_mean``, ``is_mean`` …) and the held-out
    floor's FID; empty when the run was not evaluated."""
    try:
        report = json.loads(RunDir(run).evaluation.read_text(encoding="utf-8"))
        generated = report["generated"]
        # Numbers only: a conditional run's per-class list (class_fids) stays in evaluation.json.
        scores = {"eval step": report["step"], **{k: v for k, v in generated.items() if k != "n" and not isinstance(v, list)}}
        return scores | {"fid floor": report["held_out_floor"]["fid"]}
    except (OSError, ValueError, KeyError, TypeError):  # absent, torn or from another version
        return {}


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested spec data as ``{"model.generator.width": 32, …}`` (lists of blocks by index)."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(data, list) and data and any(isinstance(v, (dict, list)) for v in data):
        out = {}
        for index, value in enumerate(data):
            out |= flatten(value, f"{prefix}.{index}")
        return out
    return {prefix: data}


def spec_differences(specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{field path: {run: value}}`` for every field whose value is not the same in all ``specs``."""
    flat = {run: flatten(data) for run, data in specs.items()}
    paths = sorted({path for values in flat.values() for path in values})
    return {
        path: {run: values.get(path) for run, values in flat.items()}
        for path in paths
        if len({json.dumps(values.get(path)) for values in flat.values()}) > 1
    }


def curves(rows: list[dict[str, Any]], keys: list[str], *, points: int = 300) -> dict[str, list[float]]:
    """Chart columns from metrics rows: ``step`` and each of ``keys``, smoothed and thinned.

    Each curve is a moving average over a window of about two plotted points, and at most
    ``points`` evenly spaced rows are kept, so a long run draws as fast as a short one.
    A key missing from a row reads as NaN.
    """
    if not rows:
        return {"step": [], **{key: [] for key in keys}}
    stride = max(1, len(rows) // points)
    window = 2 * stride if stride > 1 else 1
    keep = np.arange(len(rows) - 1, -1, -stride)[::-1]
    columns = {"step": [rows[i]["step"] for i in keep]}
    for key in keys:
        values = np.array([row.get(key, np.nan) for row in rows], dtype=np.float64)
        if window > 1:  # trailing mean: each point averages the `window` steps up to it
            padded = np.concatenate([np.full(window - 1, values[0]), values])
            values = np.convolve(padded, np.ones(window) / window, mode="valid")
        columns[key] = values[keep].tolist()
    return columns
