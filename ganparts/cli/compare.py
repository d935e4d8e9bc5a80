"""``compare``: train specs × seeds for equal time, then tables, tests and curves (ganparts.metrics.study)."""

from __future__ import annotations

import dataclasses
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from ganparts.cli import add_spec_options, resolve_device
from ganparts.errors import UserError
from ganparts.metrics.collapse import looks_collapsed, lost_classes
from ganparts.plugins import default_registry
from ganparts.runs import pool, threads
from ganparts.spec.files import load_spec
from ganparts.training.preflight import preflight

if TYPE_CHECKING:
    from ganparts.metrics.study import StudyRun
    from ganparts.spec.registry import Registry


def add_commands(commands) -> None:
    p = commands.add_parser(
        "compare",
        help="train each spec for several seeds and equal time; compare metrics at equal steps and equal time (first spec = baseline)",
    )
    p.add_argument("specs", nargs="+", type=Path, help="spec files; the first is the baseline")
    p.add_argument("--seeds", type=int, default=3, help="seeds per spec (default 3)")
    p.add_argument("--budget-minutes", type=float, required=True, help="training time per run, evaluation excluded (train.steps is ignored)")
    p.add_argument("--out", type=Path, default=Path("runs/compare"), help="study directory (default runs/compare); finished runs are kept and skipped")
    p.add_argument("--eval-every", type=int, default=250, help="evaluate every N steps (default 250)")
    p.add_argument("--n", type=int, default=5000, help="generated images per evaluation (default 5000)")
    p.add_argument("--max-runs", type=int, help="train at most this many unfinished runs, then stop (run again to continue)")
    p.add_argument(
        "--jobs", type=int, default=1,
        help="train up to K runs at once, each in its own process with 1/K of the CPU cores (default 1; on a GPU they share the card)",
    )
    p.add_argument("--report", type=Path, help="where summary.json, report.md and the PNGs go (default: --out)")
    p.add_argument("--device", default="auto")
    add_spec_options(p)
    p.set_defaults(handler=compare)


def compare(args) -> int:
    from ganparts.metrics.study import plan

    _check(args)
    registry, device = default_registry(), resolve_device(args.device)
    for path in args.specs:  # every spec must be able to train before hours of training start
        spec = load_spec(path, args.overrides, registry=registry)
        preflight(spec, registry=registry, device=device)
        log_every = spec.train.log_every
        if args.eval_every % log_every:
            raise UserError(f"--eval-every {args.eval_every}: must be a multiple of train.log_every ({log_every}) of {path}, so every run is evaluated at the same steps")
    runs = plan(args.specs, args.seeds, args.out)
    todo = [run for run in runs if not run.done]
    print(f"ganparts: {len(runs) - len(todo)} of {len(runs)} runs already finished in {args.out}")
    settings = RunSettings(budget_s=60 * args.budget_minutes, eval_every=args.eval_every, n=args.n, overrides=tuple(args.overrides), device=str(device))
    for run in _train(todo[: args.max_runs], settings, jobs=args.jobs, registry=registry):
        result = run.result()
        final = result["evaluations"][-1]
        status = " (collapsed: IS < 3)" if looks_collapsed(final) else ""
        if lost := lost_classes(final):
            status += f" (lost class {', '.join(map(str, lost))})"
        print(f"ganparts: {run.variant} seed {run.seed}: {result['steps']} steps, FID {final['fid']:.2f}, IS {final['is_mean']:.2f}{status} → {run.path}")
    remaining = sum(not run.done for run in runs)
    if remaining:
        print(f"ganparts: {remaining} run(s) still to train; run the same command again to continue")
        return 0
    from ganparts.metrics.study_report import write_report

    written = write_report(runs, args.report or args.out, budget_minutes=args.budget_minutes)
    print(written["report"].read_text(encoding="utf-8"))
    print("ganparts: " + ", ".join(str(p) for p in written.values()))
    return 0


@dataclass(frozen=True)
class RunSettings:
    """What every run of one ``compare`` shares: ``train_run``'s keyword arguments by name (picklable: a ``--jobs`` child gets a copy)."""

    budget_s: float
    eval_every: int
    n: int
    overrides: Sequence[str]
    device: str


def _train(todo: list[StudyRun], settings: RunSettings, *, jobs: int, registry: Registry) -> Iterator[StudyRun]:
    """Train each run, in this process or (``jobs`` > 1) up to ``jobs`` child processes at a time; yield each as it finishes."""
    from ganparts.metrics.study import train_run

    if jobs == 1:
        references: dict = {}  # real digits are featurised once for all runs
        for run in todo:
            train_run(run, registry=registry, references=references, **_train_args(settings))
            yield run
        return
    # Each child featurises the real digits itself; the feature network is trained once, under a lock.
    for (run, _), code in pool.run_in_processes(_train_in_child, [(run, settings) for run in todo], jobs=jobs, threads=threads.budget(processes=jobs)):
        if code == pool.INTERRUPTED:
            raise KeyboardInterrupt
        if code != 0:
            raise UserError(
                f"{run.variant} seed {run.seed}: its process failed (exit status {code}); its messages are above. "
                "Finished runs are kept: run the same command again to continue."
            )
        yield run


def _train_in_child(job: tuple[StudyRun, RunSettings]) -> None:
    """One ``--jobs`` run in a child process (see ganparts.runs.pool), its messages prefixed with the run."""
    from ganparts.metrics.study import train_run

    run, settings = job
    logging.basicConfig(level=logging.INFO, format=f"ganparts: {run.variant} seed {run.seed}: %(message)s", stream=sys.stderr)
    try:
        train_run(run, registry=default_registry(), **_train_args(settings))
    except UserError as err:
        for line in str(err).splitlines():
            print(f"ganparts: error: {run.variant} seed {run.seed}: {line}", file=sys.stderr)
        sys.exit(2)


def _train_args(settings: RunSettings) -> dict:
    return dataclasses.asdict(settings)  # the fields are train_run's keyword arguments


def _check(args) -> None:
    if len({p.stem for p in args.specs}) != len(args.specs):
        raise UserError("specs: each spec file needs its own name (runs are stored by file stem)")
    if len(args.specs) < 2:
        raise UserError("specs: give at least two spec files (the first is the baseline)")
    if args.seeds < 2:
        raise UserError(f"--seeds {args.seeds}: must be at least 2 (a spread over seeds needs two)")
    if args.budget_minutes <= 0:
        raise UserError(f"--budget-minutes {args.budget_minutes}: must be positive")
    if args.eval_every <= 0:
        raise UserError(f"--eval-every {args.eval_every}: must be positive")
    if args.jobs < 1:
        raise UserError(f"--jobs {args.jobs}: must be at least 1")
    if args.n < 10:
        raise UserError(f"--n {args.n}: must be at least 10")
