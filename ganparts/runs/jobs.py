"""Training in the background: one detached ``ganparts train`` process per run.

The app starts training as a process of its own, in a new session, so a browser reload
or a restart of the app does not end it and no page waits for it. It reports through
the run directory exactly like a run started in a terminal (progress.json,
metrics.jsonl, samples/, checkpoints/), so the CLI and the app see the same runs.
Stopping sends SIGTERM: the train command finishes its step, saves a checkpoint and
exits 0, and ``--resume`` continues from there.

    RUN/train.pid    {"pid", "started", "command"} of the newest process the app started
    RUN/train.exit   {"pid", "code"} once that process has ended (when the app saw it end)
    RUN/train.log    its stdout and stderr
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganparts.errors import UserError
from ganparts.runs.atomic import atomic_write
from ganparts.runs import threads
from ganparts.runs.layout import RunDir
from ganparts.spec.experiment import Experiment
from ganparts.spec.files import dump_spec

PID_FILE, EXIT_FILE, LOG_FILE = "train.pid", "train.exit", "train.log"
# The directory holding the ``ganparts`` package this process runs: the child gets it
# first on its path, so it trains with the same code as the app that started it.
PACKAGE_PARENT = Path(__file__).resolve().parents[2]


class JobError(UserError):
    """A training job that cannot be started, or stopped, in the state its run is in."""


@dataclass(frozen=True)
class JobStatus:
    """What a run's training is doing, from its progress file and its process."""

    state: str  # new, starting, running, stopped, finished or failed
    progress: dict[str, Any]  # progress.json (empty before the first write)
    pid: int | None  # the live training process the app started, if any
    message: str = ""  # for a failed run: its error, or the end of its log

    @property
    def active(self) -> bool:
        """The process is starting or training (it can be stopped)."""
        return self.pid is not None

    @property
    def fraction(self) -> float:
        steps = self.progress.get("steps") or 0
        return min(1.0, self.progress.get("step", 0) / steps) if steps else 0.0


def start_training(run: str | Path, spec: Experiment | None = None, *, steps: int | None = None, device: str = "auto") -> int:
    """Start training run ``run`` in the background and return the process id.

    Args:
        run: the run directory. With ``spec`` it must not exist yet (it is created and
            the spec written into it); without, it is an existing run to resume.
        spec: the experiment of a new run; None resumes ``run`` from its newest checkpoint.
        steps: a new total step count for a resumed run (None keeps the run's own).
        device: torch device name, as for ``ganparts train --device``.
    """
    run = RunDir(Path(run).resolve())
    if spec is not None:
        try:
            run.path.mkdir(parents=True)
        except FileExistsError:
            raise JobError(f"{run.path} already exists; a new run needs a new name") from None
        run.write_spec(dump_spec(spec))
        args = [str(run.spec), "--out", str(run.path)]
    else:
        if not run.spec.is_file():
            raise JobError(f"{run.path}: not a run (no spec.yaml) to resume")
        if job_status(run.path).active:
            raise JobError(f"{run.path} is already training")
        args = ["--out", str(run.path), "--resume"] + (["--set", f"train.steps={steps}"] if steps else [])
    command = [sys.executable, "-m", "ganparts", "train", *args, "--no-progress", "--device", device]
    (run.path / EXIT_FILE).unlink(missing_ok=True)
    # This job and those already training beside it share the cores (threads.py says why).
    env = child_env(**threads.child_env(threads.share(1 + _active_jobs_beside(run.path))))
    with open(run.path / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    _write_json(run.path / PID_FILE, {"pid": process.pid, "started": time.time(), "command": command})
    # Reap the child when it ends (no zombie lingers as "alive") and keep its exit code.
    threading.Thread(target=_record_exit, args=(process, run.path), daemon=True, name=f"reap-{process.pid}").start()
    return process.pid


def _active_jobs_beside(run: Path) -> int:
    """Trainings the app started in the other runs of ``run``'s folder that are still running."""
    return sum(job_status(other).active for other in run.parent.iterdir() if other != run and (other / PID_FILE).is_file())


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a ``python -m …`` child that must import this same ganparts."""
    path = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path, **extra}


def stop_training(run: str | Path) -> bool:
    """Ask a run's training process to stop (SIGTERM: it saves a checkpoint first).

    Returns False when no process the app started is training this run.
    """
    status = job_status(run)
    if status.pid is None:
        return False
    try:
        os.kill(status.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def job_status(run: str | Path) -> JobStatus:
    """The state of a run's training: its progress file, read together with its process."""
    run = RunDir(run)
    progress = run.read_progress() or {}
    launch = _read_json(run.path / PID_FILE)
    if launch is None:  # trained from a terminal, or not yet: progress.json is all there is
        return JobStatus(progress.get("state", "new"), progress, None, progress.get("error", ""))
    pid, started = launch.get("pid"), launch.get("started", 0)
    ended = _read_json(run.path / EXIT_FILE)
    exit_code = ended.get("code") if ended and ended.get("pid") == pid else None
    current = progress.get("updated", 0) >= started  # written by this launch, not an older one
    if exit_code is None and isinstance(pid, int) and _is_training(pid, launch.get("command", [])):
        state = "running" if current and progress.get("state") == "running" else "starting"
        return JobStatus(state, progress, pid)
    if current and progress.get("state") in ("finished", "stopped") and exit_code in (None, 0):
        return JobStatus(progress["state"], progress, None)
    return JobStatus("failed", progress, None, progress.get("error") or _log_tail(run.path / LOG_FILE))


def wait(run: str | Path, timeout: float, poll: float = 0.2) -> JobStatus:
    """Poll until the run's training process has ended or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    status = job_status(run)
    while status.active and time.monotonic() < deadline:
        time.sleep(poll)
        status = job_status(run)
    return status


def _record_exit(process: subprocess.Popen, run: Path) -> None:
    code = process.wait()
    _write_json(run / EXIT_FILE, {"pid": process.pid, "code": code})


def _is_training(pid: int, command: list[str]) -> bool:
    """Whether ``pid`` is alive (not a zombie) and, where /proc tells, still runs ``command``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, someone else's: the pid was reused, which /proc below tells
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True  # no /proc (macOS): the signal is all we can ask
    try:
        if (proc / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
            return False
        running = (proc / "cmdline").read_bytes().split(b"\0")[:-1]
    except (OSError, IndexError):
        return False
    # A pid recycled by an unrelated process (after a reboot) must not count as training.
    return running == [part.encode() for part in command]


def _log_tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "the training process ended without writing a log"
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(tail) or "the training process ended without output"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data))
