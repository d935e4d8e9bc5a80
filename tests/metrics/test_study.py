"""``ganparts compare``: a tiny study, resumed run by run, then its report.

Training time is counted by a fake clock that advances a fixed amount per step, so the time
budget ends each run at a known step on any machine.
"""

import json

import matplotlib.image
import numpy as np
import pytest

from ganparts.cli import main
from ganparts.metrics import study as study_module
from ganparts.metrics.study import plan
from ganparts.runs import threads
from tests.conftest import SPECS, tiny_overrides

SPEC_FILES = [SPECS / "dcgan_mnist.yaml", SPECS / "sagan_mnist.yaml"]
# Fake speeds, SAGAN the slower. The 0.6 s budget (0.01 minutes) is checked at each log flush
# (every 2 steps): DCGAN stops at the first flush past 0.6 × 15 = 9 steps, SAGAN past 5.4.
STEPS_PER_S = {"dcgan_mnist": 15, "sagan_mnist": 9}
STEPS = {"dcgan_mnist": 10, "sagan_mnist": 6}
EVALUATED = {"dcgan_mnist": [4, 8, 10], "sagan_mnist": [4, 6]}  # every 4 steps and at the last


def compare(out, *extra):
    sets = [arg for kv in tiny_overrides(**{"train.log_every": "2"}) for arg in ("--set", kv)]
    return main(["compare", *map(str, SPEC_FILES), "--seeds", "2", "--budget-minutes", "0.01",
                 "--eval-every", "4", "--n", "50", "--out", str(out), *sets, *extra])


def counting_steps(train_run):
    """``train_run`` whose budget counts each step as 1 / STEPS_PER_S[variant] seconds instead of wall-clock."""

    def train(run, **kwargs):
        return train_run(run, clock=lambda trainer: trainer.step / STEPS_PER_S[run.variant], **kwargs)

    return train


@pytest.fixture(scope="module")
def study(tmp_path_factory, mnist_cnn_5k):
    out = tmp_path_factory.mktemp("study")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(study_module, "train_run", counting_steps(study_module.train_run))
        assert compare(out, "--max-runs", "3") == 0
        finished = [run.done for run in plan(SPEC_FILES, 2, out)]
        assert finished == [True, True, True, False]  # seed-major order, stopped after three
        (out / "sagan_mnist" / "seed_1").mkdir(parents=True)  # an interrupted run is trained again
        assert compare(out) == 0
    return out


def test_every_run_is_timed_and_evaluated(study):
    for run in plan(SPEC_FILES, 2, study):
        result = run.result()
        assert result["steps"] == STEPS[run.variant]  # the budget ended the run
        assert [row["step"] for row in result["evaluations"]] == EVALUATED[run.variant]
        times = [row["train_s"] for row in result["evaluations"]]  # wall-clock is still measured and kept
        assert result["train_s"] == times[-1] and times == sorted(times) and times[0] > 0 and result["median_step_s"] > 0
        assert f"seed: {run.seed}" in result["spec"]
        assert (run.path / "samples" / "final.png").is_file()


def test_the_report_compares_at_equal_steps_and_equal_time(study):
    summary = json.loads((study / "summary.json").read_text())
    assert summary["baseline"] == "dcgan_mnist" and set(summary["variants"]) == {"dcgan_mnist", "sagan_mnist"}
    assert summary["equal_step"] == 4  # the largest step both specs were evaluated at
    assert summary["compared"]["equal_steps"].startswith("step 4,")
    for variant, entry in summary["variants"].items():
        results = [run.result() for run in plan(SPEC_FILES, 2, study) if run.variant == variant]
        assert entry["steps"]["values"] == [STEPS[variant]] * 2
        assert entry["equal_time"]["fid"]["values"] == [r["evaluations"][-1]["fid"] for r in results]
        assert entry["equal_steps"]["fid"]["values"] == [r["evaluations"][0]["fid"] for r in results]  # step 4
    assert summary["variants"]["sagan_mnist"]["step_time_ratio"] > 0
    assert 0 <= summary["tests"]["sagan_mnist"]["equal_steps"]["fid"]["p"] <= 1  # FID always differs between runs
    report = (study / "report.md").read_text()
    assert "Equal time" in report and "### Equal steps: step 4 " in report and "Welch" in report
    assert "FID of each seed at equal time: dcgan_mnist " in report
    assert (study / "fid_curves.png").stat().st_size > 0 and (study / "samples.png").stat().st_size > 0


def test_finished_runs_are_skipped(study, capsys):
    before = {run.path: run.result_path.stat().st_mtime_ns for run in plan(SPEC_FILES, 2, study)}
    assert compare(study) == 0
    assert "4 of 4 runs already finished" in capsys.readouterr().out
    assert {run.path: run.result_path.stat().st_mtime_ns for run in plan(SPEC_FILES, 2, study)} == before


def test_jobs_train_runs_side_by_side_in_processes_of_their_own(tmp_path, mnist_cnn_5k, capsys):
    # Wall-clock budgets here (a child process cannot be handed the counting clock): nothing below depends on the step counts.
    assert compare(tmp_path, "--jobs", "2") == 0
    out = capsys.readouterr().out
    results = [run.result() for run in plan(SPEC_FILES, 2, tmp_path)]
    first, second = results[:2]
    assert first["started_at"] < second["ended_at"] and second["started_at"] < first["ended_at"]  # the first two overlapped
    assert {result["threads"] for result in results} == {threads.budget(processes=2)}  # each its share of the cores
    for result in results:
        assert result["evaluations"][-1]["step"] == result["steps"] > 0
    assert out.count(" steps, FID ") == 4 and "Collapsed runs" in (tmp_path / "report.md").read_text()


def made_up(variant, seed, step):
    """Metrics that differ by variant, seed and step (so every Welch test has a spread)."""
    base = 300 / step + seed + (5 if variant == "sagan_mnist" else 0)
    return {"fid": base, "kid_mean": base / 10, "is_mean": 10 - base / 100, "precision": 1 / base, "recall": 2 / base}


def finish(run, steps, **extra):
    """Leave ``run`` as train_run does, evaluated at ``steps`` (the last is where its budget ended);
    ``extra``: more metrics in every evaluation."""
    rows = [{"step": step, "train_s": 0.6 * step / steps[-1], "eval_s": 0.1, "n": 50, **made_up(run.variant, run.seed, step), **extra} for step in steps]
    (run.path / "samples").mkdir(parents=True)
    matplotlib.image.imsave(run.path / "samples" / "final.png", np.zeros((8, 8)))
    run.result_path.write_text(json.dumps({
        "variant": run.variant, "seed": run.seed, "spec": "", "steps": steps[-1], "train_s": rows[-1]["train_s"],
        "median_step_s": 0.6 / steps[-1], "evaluations": rows,
        "held_out_floor": {"n": 100, "fid": 1.0, "kid_mean": 0.1, "is_mean": 9.0, "precision": 0.9, "recall": 0.9},
    }))


@pytest.mark.parametrize("evaluated, equal_step", [
    # Evaluated every 250 steps, with budgets that ended before step 250 on a slow machine:
    # each run has only its own last step.
    ({("dcgan_mnist", 0): [180], ("dcgan_mnist", 1): [170], ("sagan_mnist", 0): [120], ("sagan_mnist", 1): [130]}, None),
    # Step 500 is missing from one run, so 250 is the largest step all four share.
    ({("dcgan_mnist", 0): [250, 500, 610], ("dcgan_mnist", 1): [250, 500, 590], ("sagan_mnist", 0): [250, 500], ("sagan_mnist", 1): [250, 430]}, 250),
])
def test_the_report_is_written_whether_or_not_the_runs_share_a_step(tmp_path, capsys, evaluated, equal_step):
    runs = plan(SPEC_FILES, 2, tmp_path)
    for run in runs:
        finish(run, evaluated[run.variant, run.seed])
    assert compare(tmp_path) == 0
    out, err = capsys.readouterr()
    assert "4 of 4 runs already finished" in out and "Traceback" not in err

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["equal_step"] == equal_step
    for variant, entry in summary["variants"].items():  # equal time: each run's last evaluation
        assert entry["equal_time"]["fid"]["values"] == [made_up(variant, seed, evaluated[variant, seed][-1])["fid"] for seed in (0, 1)]
    assert summary["tests"]["sagan_mnist"]["equal_time"]["fid"]["difference"] > 0
    report = (tmp_path / "report.md").read_text()
    welch_rows = [line for line in report.splitlines() if line.startswith("| sagan_mnist | ×")]
    if equal_step is None:
        assert summary["compared"]["equal_steps"].startswith("no common step")
        assert summary["variants"]["sagan_mnist"]["equal_steps"] is None and summary["tests"]["sagan_mnist"]["equal_steps"] is None
        assert "### Equal steps: no common step" in report and [row.split(" | ")[2] for row in welch_rows] == ["equal time"]
    else:
        assert summary["compared"]["equal_steps"].startswith(f"step {equal_step}")
        for variant, entry in summary["variants"].items():
            assert entry["equal_steps"]["fid"]["values"] == [made_up(variant, seed, equal_step)["fid"] for seed in (0, 1)]
        assert f"### Equal steps: step {equal_step} " in report
        assert [row.split(" | ")[2] for row in welch_rows] == ["equal time", "equal steps"]
    assert "Collapsed runs (IS < 3, or FID > 5× the median of their model's seeds): none." in report
    assert report in out  # the CLI prints the report it wrote
    assert (tmp_path / "fid_curves.png").stat().st_size > 0 and (tmp_path / "samples.png").stat().st_size > 0


def test_the_report_marks_collapsed_runs(tmp_path, capsys):
    runs = plan(SPEC_FILES, 3, tmp_path)
    for run in runs:
        finish(run, [250, 500])
    collapsed = runs[-1]  # sagan_mnist seed 2: one digit only
    result = collapsed.result()
    result["evaluations"][-1] |= {"fid": 1200.0, "is_mean": 1.05}
    collapsed.result_path.write_text(json.dumps(result))
    assert main(["compare", *map(str, SPEC_FILES), "--seeds", "3", "--budget-minutes", "1", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["variants"]["sagan_mnist"]["collapsed_seeds"] == [2] and summary["variants"]["dcgan_mnist"]["collapsed_seeds"] == []
    report = (tmp_path / "report.md").read_text()
    assert "| sagan_mnist | " in report and " | 1 of 3 |" in report and " | 0 of 3 |" in report
    assert "Collapsed runs (IS < 3, or FID > 5× the median of their model's seeds): sagan_mnist seed 2." in report


def test_a_conditional_study_reports_whether_g_draws_the_class_asked_for(tmp_path, capsys):
    runs = plan(SPEC_FILES, 2, tmp_path)
    for run in runs:  # sagan seed 1 draws its class 2 blank
        class_fids = [40.0, 45.0, 1500.0 if (run.variant, run.seed) == ("sagan_mnist", 1) else 50.0]
        finish(run, [250, 500], class_accuracy=0.9 + run.seed / 100, class_fid=40.0 + run.seed, class_fids=class_fids)
    assert compare(tmp_path) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["metrics"][-2:] == ["class_accuracy", "class_fid"]
    assert summary["variants"]["dcgan_mnist"]["equal_time"]["class_accuracy"]["values"] == [0.90, 0.91]
    assert summary["variants"]["sagan_mnist"]["lost_classes"] == {"1": [2]} and summary["variants"]["dcgan_mnist"]["lost_classes"] == {}
    report = (tmp_path / "report.md").read_text()
    assert "| class accuracy ↑ | class FID ↓ |" in report and "0.905 ± 0.007" in report
    assert "Runs that lost a class (its FID > 5× the median over the classes): sagan_mnist seed 1 (class 2)." in report
    assert report in out


def test_an_unconditional_study_has_no_class_columns(study):
    assert "class" not in " ".join(json.loads((study / "summary.json").read_text())["metrics"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seeds", "1"], "--seeds 1: must be at least 2"),
        (["--budget-minutes", "0"], "--budget-minutes 0.0: must be positive"),
    ],
)
def test_bad_options_exit_2(tmp_path, args, message, capsys):
    assert compare(tmp_path, *args) == 2
    assert message in capsys.readouterr().err
