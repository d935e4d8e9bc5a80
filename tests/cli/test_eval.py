import json
import math

import pytest

from ganparts.cli import main
from ganparts.metrics.evaluate import METRICS
from tests.conftest import SPECS, run_cli, tiny_overrides


def sets(**extra):
    return [arg for kv in tiny_overrides(**extra) for arg in ("--set", kv)]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, mnist_cnn_5k):
    run = tmp_path_factory.mktemp("runs") / "x"
    overrides = sets(**{"train.steps": "20", "train.log_every": "5", "train.eval_every": "10"})
    assert main(["train", str(SPECS / "sagan_mnist.yaml"), "--out", str(run), "--no-progress", *overrides]) == 0
    return run


def test_train_with_eval_every_logs_metrics(trained_run):
    rows = [json.loads(line) for line in (trained_run / "eval.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20]
    assert all({"train_s", "fid"} <= set(r) for r in rows)


def test_eval_writes_every_metric_to_the_run_and_to_json(trained_run, tmp_path):
    out = tmp_path / "report.json"
    result = run_cli("eval", trained_run, "--n", "200", "--json", out, "--no-progress")
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert json.loads((trained_run / "evaluation.json").read_text()) == report
    assert report["step"] == 20 and report["data_source"] == "mnist-5k"
    assert report["generated"]["n"] == 200 and report["held_out_floor"]["n"] == 1000
    for column in ("generated", "held_out_floor"):
        assert all(math.isfinite(report[column][k]) for k in METRICS), column
    assert report["generated"]["fid"] > report["held_out_floor"]["fid"]  # 20 steps make no digits yet
    for label in ("FID", "KID", "IS", "precision", "recall", "held-out real"):
        assert label in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n", "3"], "--n 3: must be at least 10"),
        (["--json", "out.txt"], "must end in .json"),
        (["--feature", "inception"], "unknown feature 'inception'; allowed: 'mnist_cnn'"),
    ],
)
def test_bad_options_exit_2(trained_run, args, message, capsys):
    assert main(["eval", str(trained_run), *args]) == 2
    assert message in capsys.readouterr().err


def test_a_directory_without_checkpoints_is_reported(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 2
    assert "no checkpoint yet" in capsys.readouterr().err


def test_a_conditional_run_reports_class_accuracy_and_per_class_fid(tmp_path, mnist_cnn_5k, capsys):
    run = tmp_path / "cond"
    assert main(["train", str(SPECS / "sagan_cond_mnist.yaml"), "--out", str(run), "--no-progress", *sets(**{"train.steps": "2"})]) == 0
    assert main(["eval", str(run), "--n", "100", "--no-progress"]) == 0
    out = capsys.readouterr().out
    for label in ("class accuracy", "class FID", "FID of class 0", "FID of class 9"):
        assert label in out
    report = json.loads((run / "evaluation.json").read_text())
    assert report["num_classes"] == 10
    for column in ("generated", "held_out_floor"):
        assert 0 <= report[column]["class_accuracy"] <= 1 and len(report[column]["class_fids"]) == 10
    assert report["held_out_floor"]["class_accuracy"] > 0.96  # real digits: the feature network's accuracy
    assert report["generated"]["class_accuracy"] < 0.5  # 2 steps: not yet the digit asked for
