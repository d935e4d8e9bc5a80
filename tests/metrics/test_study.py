"""``ganparts compare``: a tiny study, resumed run by run, then its report."""

import json

import pytest

from ganparts.cli import main
from ganparts.metrics.study import plan
from tests.conftest import SPECS, tiny_overrides

SPEC_FILES = [SPECS / "dcgan_mnist.yaml", SPECS / "sagan_mnist.yaml"]


def compare(out, *extra):
    sets = [arg for kv in tiny_overrides(**{"train.log_every": "5"}) for arg in ("--set", kv)]
    return main(["compare", *map(str, SPEC_FILES), "--seeds", "2", "--budget-minutes", "0.01",
                 "--eval-every", "20", "--n", "50", "--out", str(out), *sets, *extra])


@pytest.fixture(scope="module")
def study(tmp_path_factory, mnist_cnn_5k):
    out = tmp_path_factory.mktemp("study")
    assert compare(out, "--max-runs", "3") == 0
    finished = [run.done for run in plan(SPEC_FILES, 2, out)]
    assert finished == [True, True, True, False]  # seed-major order, stopped after three
    (out / "sagan_mnist" / "seed_1").mkdir(parents=True)  # an interrupted run is trained again
    assert compare(out) == 0
    return out


def test_every_run_is_timed_and_evaluated(study):
    for run in plan(SPEC_FILES, 2, study):
        result = run.result()
        assert result["steps"] > 0 and result["median_step_s"] > 0
        assert result["train_s"] >= 0.6  # the 0.01-minute budget, evaluations not counted
        assert result["evaluations"][-1]["step"] == result["steps"]
        assert f"seed: {run.seed}" in result["spec"]
        assert (run.path / "samples" / "final.png").is_file()


def test_the_report_compares_at_equal_steps_and_equal_time(study):
    summary = json.loads((study / "summary.json").read_text())
    assert summary["baseline"] == "dcgan_mnist" and set(summary["variants"]) == {"dcgan_mnist", "sagan_mnist"}
    assert summary["equal_step"] % 20 == 0 and summary["equal_step"] > 0
    sagan = summary["variants"]["sagan_mnist"]
    assert len(sagan["equal_time"]["fid"]["values"]) == 2 and sagan["step_time_ratio"] > 0
    assert 0 <= summary["tests"]["sagan_mnist"]["equal_steps"]["fid"]["p"] <= 1  # FID always differs between runs
    report = (study / "report.md").read_text()
    assert "Equal time" in report and "Equal steps" in report and "Welch" in report
    assert "FID of each seed at equal time: dcgan_mnist " in report
    assert (study / "fid_curves.png").stat().st_size > 0 and (study / "samples.png").stat().st_size > 0


def test_finished_runs_are_skipped(study, capsys):
    before = {run.path: run.result_path.stat().st_mtime_ns for run in plan(SPEC_FILES, 2, study)}
    assert compare(study) == 0
    assert "4 of 4 runs already finished" in capsys.readouterr().out
    assert {run.path: run.result_path.stat().st_mtime_ns for run in plan(SPEC_FILES, 2, study)} == before


@pytest.mark.parametrize(
    "args, message",
    [(["--seeds", "1"], "--seeds 1: must be at least 2"), (["--budget-minutes", "0"], "--budget-minutes 0.0: must be positive")],
)
def test_bad_options_exit_2(tmp_path, args, message, capsys):
    assert compare(tmp_path, *args) == 2
    assert message in capsys.readouterr().err
