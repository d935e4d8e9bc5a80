import math

import torch

from ganparts.runs.checkpoints import latest_checkpoint
from ganparts.metrics.evaluate import METRICS
from ganparts.metrics.periodic import PeriodicEval, warn_if_collapsed
from ganparts.runs.layout import RunDir
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry


REFERENCES = {}  # real digits featurised once for this module, as ganparts compare does for its runs


def evaluated_run(spec, data, path, *, every=4, restore=False):
    evaluations = PeriodicEval(every=every, n=60, references=REFERENCES)
    trainer = Trainer(spec, run_dir=path, data=data, callbacks=[evaluations], registry=default_registry())
    if restore:
        trainer.restore(latest_checkpoint(path))
    trainer.fit()
    return trainer, evaluations


def test_logs_every_metric_with_step_and_training_time(tiny_spec, mnist5k, mnist_cnn_5k, tmp_path, caplog):
    spec = tiny_spec(**{"train.steps": "12", "train.log_every": "2"})
    with caplog.at_level("WARNING", logger="ganparts"):
        _, evaluations = evaluated_run(spec, mnist5k, tmp_path)
    rows = RunDir(tmp_path).read_evaluations()
    assert rows == evaluations.rows
    assert [r["step"] for r in rows] == [4, 8, 12]
    assert all(math.isfinite(r[k]) for r in rows for k in METRICS)
    times = [r["train_s"] for r in rows]
    assert times == sorted(times) and times[0] > 0 and all(r["eval_s"] > 0 for r in rows)
    # A 12-step generator draws blobs: a warning names each evaluation that looks collapsed, and only those.
    warned = [r.getMessage() for r in caplog.records if "looks collapsed" in r.getMessage()]
    assert warned == [m for r in rows if r["is_mean"] < 3 for m in warned if m.startswith(f"step {r['step']}:")]
    assert len(warned) == sum(r["is_mean"] < 3 for r in rows)


def test_the_last_step_is_evaluated_even_off_schedule(tiny_spec, mnist5k, mnist_cnn_5k, tmp_path):
    _, evaluations = evaluated_run(tiny_spec(**{"train.steps": "6", "train.log_every": "2"}), mnist5k, tmp_path, every=4)
    assert [r["step"] for r in evaluations.rows] == [4, 6]


def test_evaluating_does_not_change_training(tiny_spec, mnist5k, mnist_cnn_5k, tmp_path):
    spec = tiny_spec(**{"train.steps": "8", "train.log_every": "2"})
    plain = Trainer(spec, data=mnist5k, registry=default_registry())
    plain.fit()
    evaluated, _ = evaluated_run(spec, mnist5k, tmp_path)
    for key, value in plain.generator.state_dict().items():
        torch.testing.assert_close(evaluated.generator.state_dict()[key], value, rtol=0, atol=0, msg=key)


def test_resume_drops_evaluations_past_the_checkpoint(tiny_spec, mnist5k, mnist_cnn_5k, tmp_path):
    evaluated_run(tiny_spec(**{"train.steps": "8", "train.log_every": "2", "train.checkpoint_every": "4"}), mnist5k, tmp_path)
    for stale in sorted((tmp_path / "checkpoints").iterdir())[1:]:  # back to step 4, as after a crash
        for f in stale.iterdir():
            f.unlink()
        stale.rmdir()
    _, evaluations = evaluated_run(tiny_spec(**{"train.steps": "8", "train.log_every": "2"}), mnist5k, tmp_path, restore=True)
    assert [r["step"] for r in RunDir(tmp_path).read_evaluations()] == [4, 8]
    assert evaluations.rows[1]["train_s"] > evaluations.rows[0]["train_s"]  # the clock went on from the checkpoint


def test_training_warns_of_a_collapse_and_of_each_lost_class(caplog):
    with caplog.at_level("WARNING", logger="ganparts"):
        warn_if_collapsed(500, {"fid": 20, "is_mean": 8.0, "class_fids": [30.0, 1500.0, 40.0, 35.0]})
        warn_if_collapsed(600, {"fid": 20, "is_mean": 1.5})
        warn_if_collapsed(700, {"fid": 20, "is_mean": 8.0, "class_fids": [30.0, 31.0, 40.0]})
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["step 500", "step 600"]
    lost, collapsed = (r.getMessage() for r in caplog.records)
    assert "class 1 looks lost (its FID 1500" in lost and "'The lost class'" in lost
    assert "IS 1.50 < 3, the generator looks collapsed" in collapsed
