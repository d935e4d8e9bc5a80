"""``eval``: FID, KID, IS, precision/recall of a run, beside the held-out real-data floor; for a
class-conditional run also its conditional accuracy and per-class FID."""

from __future__ import annotations

import json
from pathlib import Path

from ganparts.errors import UserError
from ganparts.runs.atomic import atomic_write
from ganparts.cli import resolve_device
from ganparts.plugins import default_registry

EVALUATION_FILE = "evaluation.json"
MIN_IMAGES = 10  # the Inception Score splits the images in 10


def add_commands(commands) -> None:
    p = commands.add_parser("eval", help="FID, KID, IS, precision and recall of a run's EMA generator, beside the real-data floor")
    p.add_argument("run", type=Path, help="run directory (newest checkpoint) or a checkpoint directory")
    p.add_argument("--n", type=int, default=5000, help="number of generated images (default 5000)")
    p.add_argument("--json", type=Path, help=f"also write the report here (it always goes to RUN/{EVALUATION_FILE} too)")
    p.add_argument("--seed", type=int, default=0, help="latent noise seed (also seeds KID subsets and IS splits)")
    p.add_argument("--feature", default="mnist_cnn", help="registered feature extractor (default mnist_cnn)")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=evaluate)


def evaluate(args) -> int:
    from ganparts.metrics.evaluate import evaluate_run

    if args.n < MIN_IMAGES:
        raise UserError(f"--n {args.n}: must be at least {MIN_IMAGES}")
    if args.json is not None and args.json.suffix.lower() != ".json":
        raise UserError(f"--json {args.json}: the file name must end in .json")
    report = evaluate_run(
        args.run, n=args.n, seed=args.seed, feature=args.feature, device=resolve_device(args.device),
        progress=not args.no_progress, registry=default_registry(),
    )
    print(metric_table({f"generated (n={args.n})": report["generated"], f"held-out real (n={report['held_out_floor']['n']})": report["held_out_floor"]}))
    written = [write_json(report, args.run / EVALUATION_FILE)]  # beside the run's (or checkpoint's) own files
    if args.json is not None:
        written.append(write_json(report, args.json))
    print(f"ganparts: step {report['step']} of {args.run} on {report['data_source']}; report → {', '.join(map(str, written))}")
    return 0


def metric_table(columns: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one row per metric, one column per set of results."""
    rows = [
        ("FID ↓", lambda m: f"{m['fid']:.2f}"),
        ("KID ↓", lambda m: f"{m['kid_mean']:.4f} ± {m['kid_std']:.4f}"),
        ("IS ↑", lambda m: f"{m['is_mean']:.2f} ± {m['is_std']:.2f}"),
        ("precision ↑", lambda m: f"{m['precision']:.3f}"),
        ("recall ↑", lambda m: f"{m['recall']:.3f}"),
    ]
    if all("class_accuracy" in m for m in columns.values()):  # a class-conditional run
        rows += [
            ("class accuracy ↑", lambda m: f"{m['class_accuracy']:.3f}"),
            ("class FID ↓ (mean)", lambda m: f"{m['class_fid']:.2f}"),
        ] + [
            (f"  FID of class {c} ↓", lambda m, c=c: f"{m['class_fids'][c]:.2f}")
            for c in range(min(len(m["class_fids"]) for m in columns.values()))
        ]
    cells = [["metric", *columns]] + [[label, *(show(m) for m in columns.values())] for label, show in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in cells)


def write_json(data: dict, path: Path) -> Path:
    """Write ``data`` as JSON, whole or not at all: the app may be reading the previous report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(data, indent=1) + "\n")
    return path
