"""Summarise a finished study: tables at equal time and equal steps, tests, curves, samples.

The first spec is the baseline. Differences are tested with Welch's two-sample t-test
over seeds (scipy.stats.ttest_ind with unequal variances), per metric.
"""

from __future__ import annotations

import json
import statistics
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ganparts.metrics.collapse import collapsed_in_group, lost_classes
from ganparts.metrics.study import StudyRun
from ganparts.runs.atomic import atomic_path, atomic_write

METRICS = {  # key → (column title, decimals, scale)
    "fid": ("FID ↓", 2, 1.0),
    "kid_mean": ("KID ↓", 2, 1.0),
    "is_mean": ("IS ↑", 2, 1.0),
    "precision": ("precision ↑", 3, 1.0),
    "recall": ("recall ↑", 3, 1.0),
}
# And for class-conditional runs: does G draw the class asked for, and each class's FID.
CLASS_METRICS = {
    "class_accuracy": ("class accuracy ↑", 3, 1.0),
    "class_fid": ("class FID ↓", 2, 1.0),
}


def _columns(results: Sequence[dict[str, Any]]) -> dict[str, tuple[str, int, float]]:
    """The metrics a study reports: :data:`METRICS`, and :data:`CLASS_METRICS` when every run has them."""
    conditional = all(k in row for r in results for row in r["evaluations"] for k in CLASS_METRICS)
    return METRICS | (CLASS_METRICS if conditional else {})


NO_COMMON_STEP = "no common step"


def common_step(results: Sequence[dict[str, Any]]) -> int | None:
    """The largest step at which every run was evaluated; None when there is none (runs are
    evaluated every ``eval_every`` steps and at their last, so budgets that end before the
    first ``eval_every`` on a slow machine leave each run with only its own last step)."""
    steps = set.intersection(*({row["step"] for row in r["evaluations"]} for r in results))
    return max(steps, default=None)


def _compared(step: int | None) -> dict[str, str]:
    """What the equal-time and equal-steps columns hold, in words (for summary.json)."""
    return {
        "equal_time": "each run's last evaluation, at the end of its time budget",
        "equal_steps": f"step {step}, the largest step at which every run was evaluated" if step is not None
        else f"{NO_COMMON_STEP}: no step at which every run was evaluated, so equal time only",
    }


def _row_at(result: dict[str, Any], step: int) -> dict[str, Any]:
    return next(row for row in result["evaluations"] if row["step"] == step)


def _mean_std(values: Sequence[float]) -> dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0, "values": list(values)}


def summarise(runs: Sequence[StudyRun]) -> dict[str, Any]:
    """Per variant: mean ± std (over seeds) of every metric at equal time (each run's last
    evaluation, at the end of its budget) and at equal steps; step speed; tests against the baseline.

    Without a common step (``equal_step`` None) the equal-steps entries and their tests are None."""
    from scipy.stats import ttest_ind

    results = {}
    for run in runs:
        results.setdefault(run.variant, []).append(run.result())
    variants, baseline = list(results), next(iter(results))
    every = [r for rs in results.values() for r in rs]
    step, metrics = common_step(every), _columns(every)
    summary: dict[str, Any] = {
        "baseline": baseline, "equal_step": step, "compared": _compared(step), "metrics": list(metrics), "variants": {}, "tests": {},
    }
    for variant, rs in results.items():
        summary["variants"][variant] = {
            "seeds": [r["seed"] for r in rs],
            "steps": _mean_std([r["steps"] for r in rs]),
            "train_s": _mean_std([r["train_s"] for r in rs]),
            "median_step_s": _mean_std([r["median_step_s"] for r in rs]),
            "equal_time": {k: _mean_std([r["evaluations"][-1][k] for r in rs]) for k in metrics},
            "equal_steps": None if step is None else {k: _mean_std([_row_at(r, step)[k] for r in rs]) for k in metrics},
            "collapsed_seeds": [r["seed"] for r, c in zip(rs, collapsed_in_group([r["evaluations"][-1] for r in rs])) if c],
            "lost_classes": {str(r["seed"]): lost for r in rs if (lost := lost_classes(r["evaluations"][-1]))},
        }
    base = summary["variants"][baseline]
    for variant in variants[1:]:
        entry = summary["variants"][variant]
        entry["step_time_ratio"] = entry["median_step_s"]["mean"] / base["median_step_s"]["mean"]
        summary["tests"][variant] = {
            when: None if entry[when] is None else {
                k: _welch(entry[when][k]["values"], base[when][k]["values"], ttest_ind) for k in metrics
            }
            for when in ("equal_time", "equal_steps")
        }
    summary["held_out_floor"] = results[baseline][0]["held_out_floor"]
    return summary


def _welch(a: Sequence[float], b: Sequence[float], ttest_ind) -> dict[str, float | None]:
    """Difference of means, t and two-sided p; t and p are None when both groups have no spread."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns on (nearly) constant groups, then returns nan
        test = ttest_ind(a, b, equal_var=False)
    finite = lambda x: float(x) if np.isfinite(x) else None  # noqa: E731 — JSON has no NaN
    return {"difference": statistics.fmean(a) - statistics.fmean(b), "t": finite(test.statistic), "p": finite(test.pvalue)}


def _cell(stats: dict[str, Any], decimals: int, scale: float = 1.0) -> str:
    return f"{stats['mean'] * scale:.{decimals}f} ± {stats['std'] * scale:.{decimals}f}"


def markdown(summary: dict[str, Any], budget_minutes: float) -> str:
    """The tables of ``summary`` as Markdown."""
    columns = {k: (METRICS | CLASS_METRICS)[k] for k in summary["metrics"]}
    titles = [title for title, _, _ in columns.values()]
    lines = [f"### Equal time: {budget_minutes:g} minutes of training each (mean ± std over seeds)", ""]
    lines += ["| model | steps | s/step | " + " | ".join(titles) + " | collapsed |", "|---" * (4 + len(columns)) + "|"]
    for variant, v in summary["variants"].items():
        cells = [_cell(v["equal_time"][k], d, s) for k, (_, d, s) in columns.items()]
        collapsed = f"{len(v['collapsed_seeds'])} of {len(v['seeds'])}"
        lines.append(f"| {variant} | {_cell(v['steps'], 0)} | {_cell(v['median_step_s'], 3)} | " + " | ".join(cells) + f" | {collapsed} |")
    if summary["equal_step"] is None:
        lines += ["", f"### Equal steps: {NO_COMMON_STEP}", "", "No step at which every run was evaluated (each run is evaluated "
                  "every --eval-every steps and at its last step), so the runs are compared at equal time only; "
                  "a longer budget or a smaller --eval-every gives them one."]
    else:
        lines += ["", f"### Equal steps: step {summary['equal_step']} (mean ± std over seeds)", ""]
        lines += ["| model | " + " | ".join(titles) + " |", "|---" * (1 + len(columns)) + "|"]
        for variant, v in summary["variants"].items():
            lines.append(f"| {variant} | " + " | ".join(_cell(v["equal_steps"][k], d, s) for k, (_, d, s) in columns.items()) + " |")
    lines += ["", "FID of each seed at equal time: " + "; ".join(
        f"{variant} " + ", ".join(f"{fid:.1f}" for fid in v["equal_time"]["fid"]["values"]) for variant, v in summary["variants"].items()
    ) + "."]
    collapsed = [f"{variant} seed {seed}" for variant, v in summary["variants"].items() for seed in v["collapsed_seeds"]]
    lines += ["", "Collapsed runs (IS < 3, or FID > 5× the median of their model's seeds): " + (", ".join(collapsed) or "none") + "."]
    if "class_fid" in summary["metrics"]:
        lost = [f"{variant} seed {seed} (class {', '.join(map(str, classes))})"
                for variant, v in summary["variants"].items() for seed, classes in v["lost_classes"].items()]
        lines += ["", "Runs that lost a class (its FID > 5× the median over the classes): " + (", ".join(lost) or "none") + "."]
    floor = summary["held_out_floor"]
    lines += ["", f"Floor (held-out real digits vs training digits, n={floor['n']}): FID {floor['fid']:.2f}, "
              f"KID {floor['kid_mean']:.2f}, IS {floor['is_mean']:.2f}, precision {floor['precision']:.3f}, recall {floor['recall']:.3f}."]
    lines += ["", f"### Against the baseline ({summary['baseline']}): Welch's t-test over seeds", ""]
    lines += ["| model | step time vs baseline | when | " + " | ".join(f"{t} Δ (p)" for t in titles) + " |", "|---" * (3 + len(columns)) + "|"]
    for variant, tests in summary["tests"].items():
        ratio = summary["variants"][variant]["step_time_ratio"]
        for when, label in (("equal_time", "equal time"), ("equal_steps", "equal steps")):
            if tests[when] is None:
                continue
            cells = [f"{tests[when][k]['difference'] * s:+.{d}f} ({_p(tests[when][k]['p'])})" for k, (_, d, s) in columns.items()]
            lines.append(f"| {variant} | ×{ratio:.2f} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _p(p: float | None) -> str:
    return "n/a" if p is None else f"p={p:.2f}" if p >= 0.01 else f"p={p:.0e}"


def save_fid_curves(runs: Sequence[StudyRun], path: Path) -> Path:
    """FID against step and against minutes of training: one thin line per seed, the median thick
    (a seed that collapsed would drag a mean into the empty space between the modes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_variant.setdefault(run.variant, []).append(run.result())
    for colour, (variant, results) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], by_variant.items()):
        for axis, key, scale in ((axes[0], "step", 1.0), (axes[1], "train_s", 1 / 60)):
            curves = [(np.array([row[key] for row in r["evaluations"]]) * scale, np.array([row["fid"] for row in r["evaluations"]])) for r in results]
            for x, y in curves:  # a run evaluated once (a short budget) is a point, which needs a marker to show
                axis.plot(x, y, color=colour, alpha=0.3, linewidth=0.8, marker="o" if len(x) == 1 else None, markersize=4)
            start, end = max(x[0] for x, _ in curves), min(x[-1] for x, _ in curves)
            if start < end:  # a median only where every seed has a curve (np.interp would extend one flat)
                grid = np.linspace(start, end, 50)
                axis.plot(grid, np.median([np.interp(grid, x, y) for x, y in curves], axis=0), color=colour, linewidth=2)
            axis.plot([], [], color=colour, linewidth=2, label=variant)  # the legend names a variant with or without a median
    axes[0].set(xlabel="generator step", ylabel="FID (log scale)", yscale="log", title="FID vs steps")
    axes[1].set(xlabel="minutes of training", yscale="log", title="FID vs wall-clock time")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path


def save_sample_panels(runs: Sequence[StudyRun], path: Path, *, seed: int = 0) -> Path:
    """The final EMA sample grid of each variant's ``seed`` run, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image
    import matplotlib.pyplot as plt

    chosen = [run for run in runs if run.seed == seed]
    fig, axes = plt.subplots(1, len(chosen), figsize=(3.4 * len(chosen), 3.7), squeeze=False)
    for axis, run in zip(axes[0], chosen):
        result = run.result()
        axis.imshow(matplotlib.image.imread(run.path / "samples" / "final.png"))
        axis.set_title(f"{run.variant}\nstep {result['steps']}, FID {result['evaluations'][-1]['fid']:.1f}", fontsize=9)
        axis.axis("off")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path


def write_report(runs: Sequence[StudyRun], directory: Path, *, budget_minutes: float) -> dict[str, Path]:
    """summary.json, report.md, fid_curves.png and samples.png in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    summary = summarise(runs)
    atomic_write(directory / "summary.json", json.dumps(summary, indent=1))
    atomic_write(directory / "report.md", markdown(summary, budget_minutes))
    return {
        "summary": directory / "summary.json",
        "report": directory / "report.md",
        "curves": save_fid_curves(runs, directory / "fid_curves.png"),
        "samples": save_sample_panels(runs, directory / "samples.png"),
    }
