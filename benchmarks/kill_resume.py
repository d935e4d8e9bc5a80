"""Kill ``ganparts train`` with SIGKILL at random moments and check that the run always resumes.

Every trial starts ``ganparts train SPEC --out RUN --resume`` on the same run directory
(a tiny spec that checkpoints after every step, so kills land inside checkpoint writes),
waits and SIGKILLs it. The trials take turns at three ways of choosing the moment:

- ``after-progress`` (half the trials): once the process has written a checkpoint of its
  own, a random time up to ``--window`` seconds later — anywhere in training;
- ``in-write``: the moment a hidden ``.tmp-step_*`` directory appears, i.e. inside a
  checkpoint write (random in where within the write it lands);
- ``from-launch``: a random time up to ``--startup`` seconds from launch — imports,
  data loading, restore, the first writes.

After each kill:

- every checkpoint the run lists loads (file digests verified) and its weights load into
  the networks its spec describes, so no partial directory is ever taken for a checkpoint;
- the newest checkpoint never moves backwards;
- the killed process, if it got as far as saying so, resumed from exactly the newest
  checkpoint the previous trial left;
- spec.yaml, progress.json and every sample PNG in the run are whole.

A kill "landed during a checkpoint write" when it left a hidden ``.tmp-step_*`` directory.
At the end an unkilled ``--resume`` finishes the run: its metrics must hold every step once,
and its final weights, optimiser moments and RNG state must equal, bit for bit, those of
the same spec trained without interruption.

    python benchmarks/kill_resume.py --trials 30 --seed 0 --json kill_resume.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganparts.runs import checkpoints as ckpt  # noqa: E402
from ganparts.analysis.inference import load_trained  # noqa: E402
from ganparts.runs.layout import RunDir  # noqa: E402
from ganparts.spec.files import read_spec_data  # noqa: E402
from ganparts.plugins import default_registry

SPEC = ROOT / "specs" / "sagan_mnist.yaml"
TINY = {
    "data.source": "mnist-5k", "data.batch_size": "8", "model.z_dim": "16",
    "model.generator.width": "8", "model.discriminator.width": "8",
    "train.log_every": "1", "train.checkpoint_every": "1", "train.keep_checkpoints": "2",
    "train.sample_every": "5", "train.grid_size": "4",
}
PNG_END = b"IEND\xaeB`\x82"
STRATEGIES = ("after-progress", "in-write", "from-launch", "after-progress")


@dataclass
class Trial:
    index: int
    strategy: str  # "after-progress", "in-write" or "from-launch"
    waited_s: float
    newest_before: int | None
    newest_after: int | None
    resumed_from: int | None  # what the killed process said it resumed from, if it got that far
    during_write: bool  # the kill left a .tmp-step_* directory
    leftovers: list[str]
    exited_before_kill: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    trials: list[Trial]
    steps: int
    final_ok: bool
    final_problems: list[str]
    seconds: float

    @property
    def problems(self) -> list[str]:
        return [f"trial {t.index}: {p}" for t in self.trials for p in t.problems] + self.final_problems

    def summary(self) -> dict:
        return {
            "trials": len(self.trials),
            **{f"killed_{s}": sum(t.strategy == s and not t.exited_before_kill for t in self.trials) for s in sorted(set(STRATEGIES))},
            "killed_during_checkpoint_write": sum(t.during_write for t in self.trials),
            "finished_before_kill": sum(t.exited_before_kill for t in self.trials),
            "leftover_kinds": sorted({name.split("-step")[0] for t in self.trials for name in t.leftovers}),
            "checks_failed": len(self.problems),
            "final_run_matches_uninterrupted": self.final_ok,
            "steps": self.steps,
            "seconds": round(self.seconds, 1),
        }


def train_command(run: Path, steps: int, *extra: str) -> list[str]:
    sets = TINY | {"train.steps": str(steps)}
    return [sys.executable, "-m", "ganparts", "train", str(SPEC), "--out", str(run), "--resume", "--no-progress",
            "--device", "cpu", *[a for k, v in sets.items() for a in ("--set", f"{k}={v}")], *extra]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def newest_step(run: Path) -> int | None:
    """From the directory name: safe while a live process prunes checkpoints under us."""
    found = ckpt.list_checkpoints(run)
    return ckpt.checkpoint_step(found[-1]) if found else None


def leftovers(run: Path) -> set[str]:
    folder = ckpt.checkpoint_dir(run)
    return {p.name for p in folder.iterdir() if p.name.startswith(".")} if folder.is_dir() else set()


def inspect(run: Path) -> list[str]:
    """Everything a reader of the run relies on, after a kill."""
    problems = []
    for path in ckpt.list_checkpoints(run):
        try:
            load_trained(path, registry=default_registry())
        except Exception as err:  # noqa: BLE001 — any failure here is what the harness reports
            problems.append(f"{path.name} does not load: {err}")
    rundir = RunDir(run)
    if rundir.spec.exists():
        try:
            read_spec_data(rundir.spec)
        except Exception as err:  # noqa: BLE001
            problems.append(f"spec.yaml is damaged: {err}")
    if rundir.progress.exists() and rundir.read_progress() is None:
        problems.append("progress.json is damaged")
    for png in sorted(rundir.samples.glob("*.png")) + sorted(rundir.attention.glob("*.png")):
        if not png.read_bytes().endswith(PNG_END):
            problems.append(f"{png.relative_to(run)} is truncated")
    return problems


def kill_trial(index: int, run: Path, steps: int, rng: random.Random, window: float, startup: float) -> Trial:
    before, old_leftovers = newest_step(run), leftovers(run)
    strategy = STRATEGIES[index % len(STRATEGIES)]
    proc = subprocess.Popen(train_command(run, steps), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=child_env(), text=True)
    start = time.monotonic()
    if strategy == "from-launch":
        deadline = start + rng.uniform(0, startup)
    elif strategy == "in-write":
        while proc.poll() is None and not leftovers(run) - old_leftovers and time.monotonic() - start < 120:
            time.sleep(0.0005)
        deadline = time.monotonic()
    else:
        while proc.poll() is None and (newest_step(run) or -1) <= (before or -1) and time.monotonic() - start < 120:
            time.sleep(0.005)
        deadline = time.monotonic() + rng.uniform(0, window)
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    exited = proc.poll() is not None
    if not exited:
        proc.send_signal(signal.SIGKILL)
    output = proc.communicate()[0]
    waited = time.monotonic() - start
    new_leftovers = sorted(leftovers(run) - old_leftovers)
    resumed = None
    for line in output.splitlines():
        if line.startswith("ganparts: resuming"):
            resumed = int(line.split(" from step ")[1].split()[0])
    problems = inspect(run)
    after = newest_step(run)
    if before is not None and (after is None or after < before):
        problems.append(f"newest checkpoint went back from {before} to {after}")
    if before is not None and after is not None and after > before and resumed != before:
        problems.append(f"made progress but resumed from {resumed}, not from the newest checkpoint {before}")
    if exited and proc.returncode not in (0,):
        problems.append(f"exited by itself with status {proc.returncode}: {output.strip().splitlines()[-1:]}")
    return Trial(index, strategy, round(waited, 3), before, after, resumed, any(n.startswith(".tmp-") for n in new_leftovers),
                 new_leftovers, exited, problems)


def run_trials(trials: int, *, seed: int = 0, steps: int = 600, window: float = 0.3, startup: float = 4.0, work: Path | None = None) -> Report:
    """Run the kill trials, the final resume and the uninterrupted reference; return what happened."""
    began = time.monotonic()
    work = Path(work or tempfile.mkdtemp(prefix="ganparts-kill-"))
    run, reference = work / "killed", work / "reference"
    rng = random.Random(seed)
    results = []
    for index in range(trials):
        results.append(kill_trial(index, run, steps, rng, window, startup))
        print(json.dumps(asdict(results[-1])), flush=True)

    final_problems = []
    finish = subprocess.run(train_command(run, steps), capture_output=True, text=True, env=child_env())
    if finish.returncode != 0:
        final_problems.append(f"the final --resume failed: {finish.stderr.strip()[-500:]}")
    # The reference checkpoints only at the end; checkpoint frequency changes no computation.
    subprocess.run(train_command(reference, steps, "--set", "train.checkpoint_every=0", "--set", "train.sample_every=0"),
                   check=True, capture_output=True, env=child_env())
    rows = [row["step"] for row in RunDir(run).read_metrics()]
    if rows != list(range(1, steps + 1)):
        final_problems.append(f"metrics.jsonl does not hold steps 1..{steps} once each ({len(rows)} rows)")
    final_problems += inspect(run)
    final_ok = False
    if not final_problems:
        a, b = ckpt.latest_checkpoint(run), ckpt.latest_checkpoint(reference)
        differing = sorted(k for k in a.tensors.keys() | b.tensors.keys() if k not in a.tensors or k not in b.tensors or not torch.equal(a.tensors[k], b.tensors[k]))
        final_ok = a.step == b.step == steps and not differing
        if not final_ok:
            final_problems.append(f"final checkpoint differs from the uninterrupted run in {len(differing)} tensors, e.g. {differing[:3]}")
    return Report(results, steps, final_ok, final_problems, time.monotonic() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=600, help="train.steps of the run (enough that the trials do not finish it)")
    parser.add_argument("--window", type=float, default=0.3, help="after-progress kills land up to this many seconds after progress")
    parser.add_argument("--startup", type=float, default=4.0, help="from-launch kills land up to this many seconds after launch")
    parser.add_argument("--work", type=Path, help="where the runs go (default: a new temporary directory)")
    parser.add_argument("--json", type=Path, help="write the summary and every trial here")
    args = parser.parse_args()
    report = run_trials(args.trials, seed=args.seed, steps=args.steps, window=args.window, startup=args.startup, work=args.work)
    summary = report.summary()
    print(json.dumps(summary, indent=1))
    for problem in report.problems:
        print("PROBLEM:", problem)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "trials": [asdict(t) for t in report.trials], "problems": report.problems}, indent=1))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
