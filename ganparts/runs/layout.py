"""The run directory: what training writes and what the CLI and the app read.

    RUN/spec.yaml         the validated spec the run was started (or last resumed) with
    RUN/metrics.jsonl     one JSON object per step: losses, attention gammas, step time
    RUN/eval.jsonl        metrics (FID, KID, IS, P/R) during training (train.eval_every), with training time
    RUN/evaluation.json   the latest ``ganparts eval`` report
    RUN/progress.json     step, total, rate, state — rewritten atomically as training goes
    RUN/samples/          sample grids from the EMA generator on fixed noise
    RUN/attention/        attention-map pictures
    RUN/checkpoints/      see ganparts.runs.checkpoints
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from ganparts.runs.atomic import append_text, atomic_write


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    spec = property(lambda self: self.path / "spec.yaml")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    progress = property(lambda self: self.path / "progress.json")
    samples = property(lambda self: self.path / "samples")
    attention = property(lambda self: self.path / "attention")
    evaluations = property(lambda self: self.path / "eval.jsonl")
    evaluation = property(lambda self: self.path / "evaluation.json")

    def create(self) -> None:
        for folder in (self.path, self.samples, self.attention):
            folder.mkdir(parents=True, exist_ok=True)

    def write_spec(self, text: str) -> None:
        """Write ``spec.yaml`` whole or not at all: a killed run must not leave half a spec."""
        atomic_write(self.spec, text)

    def append_metrics(self, rows: Iterable[dict[str, Any]]) -> None:
        _append_jsonl(self.metrics, rows)

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every complete row of the metrics log (a torn last line is skipped)."""
        return _read_jsonl(self.metrics)

    def truncate_metrics(self, last_step: int) -> None:
        """Keep only rows up to ``last_step`` — what a resumed run starts from."""
        self._truncate_jsonl(self.metrics, last_step)

    def append_evaluations(self, rows: Iterable[dict[str, Any]]) -> None:
        _append_jsonl(self.evaluations, rows)

    def read_evaluations(self) -> list[dict[str, Any]]:
        """Every complete row of ``eval.jsonl``."""
        return _read_jsonl(self.evaluations)

    def truncate_evaluations(self, last_step: int) -> None:
        self._truncate_jsonl(self.evaluations, last_step)

    def _truncate_jsonl(self, path: Path, last_step: int) -> None:
        kept = [row for row in _read_jsonl(path) if row.get("step", 0) <= last_step]
        atomic_write(path, "".join(json.dumps(row) + "\n" for row in kept))

    def write_progress(self, progress: dict[str, Any]) -> None:
        atomic_write(self.progress, json.dumps(progress))

    def read_progress(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.progress.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def latest(self, folder: str, pattern: str = "*.png") -> Path | None:
        """The newest file matching ``pattern`` in ``samples`` or ``attention`` (by name)."""
        found = sorted((self.path / folder).glob(pattern))
        return found[-1] if found else None


def _append_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    append_text(path, "".join(json.dumps(row) + "\n" for row in rows))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete row of a JSON-lines log; a torn last line (a crash mid-write) is skipped."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows
