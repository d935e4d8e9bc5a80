"""``compare``: train specs × seeds for equal time, then tables, tests and curves (ganparts.metrics.study)."""

from __future__ import annotations

from pathlib import Path

from ganparts.cli import add_spec_options, resolve_device
from ganparts.errors import UserError
from ganparts.metrics.collapse import looks_collapsed
from ganparts.plugins import default_registry
from ganparts.spec.files import load_spec
from ganparts.training.preflight import preflight


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
    p.add_argument("--report", type=Path, help="where summary.json, report.md and the PNGs go (default: --out)")
    p.add_argument("--device", default="auto")
    add_spec_options(p)
    p.set_defaults(handler=compare)


def compare(args) -> int:
    from ganparts.metrics.study import plan, train_run

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
    references: dict = {}  # real digits are featurised once for all runs
    for count, run in enumerate(todo):
        if args.max_runs is not None and count >= args.max_runs:
            break
        result = train_run(
            run, registry=registry, budget_s=60 * args.budget_minutes, eval_every=args.eval_every, n=args.n,
            overrides=args.overrides, device=device, references=references,
        )
        final = result["evaluations"][-1]
        status = " (collapsed: IS < 3)" if looks_collapsed(final) else ""
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
    if args.n < 10:
        raise UserError(f"--n {args.n}: must be at least 10")
