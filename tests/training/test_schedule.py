"""``optim.lr_decay``: the rates each update uses, and a resume that continues the schedule."""

import pytest
import torch

from ganparts.errors import SpecError
from ganparts.plugins import default_registry
from ganparts.runs.checkpoints import latest_checkpoint
from ganparts.training import state
from ganparts.training.callbacks import TimeBudget
from ganparts.training.schedule import lr_factor
from ganparts.training.trainer import Trainer


def rates(trainer):
    return trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]


def test_linear_decay_falls_to_zero_at_the_last_step():
    assert [lr_factor("linear", step / 4) for step in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert lr_factor("linear", 1.5) == 0.0  # past the end (a run resumed with fewer steps, or past its time budget)
    assert {lr_factor("none", step / 4) for step in range(5)} == {1.0}


def test_a_late_decay_holds_the_rate_until_its_start():
    assert [lr_factor("linear", step / 8, start=0.5) for step in range(9)] == [1.0] * 5 + [0.75, 0.5, 0.25, 0.0]


def test_each_update_uses_the_rate_of_its_step(tiny_spec, mnist5k):
    spec = tiny_spec(**{"optim.lr_decay": "linear", "optim.g_lr": "1e-3", "optim.d_lr": "2e-3", "train.steps": "4"})
    trainer = Trainer(spec, data=mnist5k, registry=default_registry())
    seen = []
    step = trainer.train_step
    trainer.train_step = lambda *a: (seen.append(rates(trainer)), step(*a))[1]
    trainer.fit()
    factors = (1.0, 0.75, 0.5, 0.25)
    assert [g for g, _ in seen] == pytest.approx([1e-3 * f for f in factors])
    assert [d for _, d in seen] == pytest.approx([2e-3 * f for f in factors])


def test_a_time_budget_runs_the_schedule_over_its_seconds(tiny_spec, mnist5k):
    spec = tiny_spec(**{"optim.lr_decay": "linear", "optim.g_lr": "1e-3", "train.steps": "1000000", "train.log_every": "1"})
    trainer = Trainer(spec, data=mnist5k, registry=default_registry(), callbacks=[TimeBudget(seconds=4, clock=lambda: trainer.step)])
    seen = []
    step = trainer.train_step
    trainer.train_step = lambda *a: (seen.append(rates(trainer)[0]), step(*a))[1]
    trainer.fit()  # a step counts as one second
    assert seen == pytest.approx([1e-3 * f for f in (1.0, 0.75, 0.5, 0.25)])


def test_constant_rates_by_default(tiny_spec, mnist5k):
    trainer = Trainer(tiny_spec(), data=mnist5k, registry=default_registry())
    trainer.fit()
    assert rates(trainer) == (trainer.spec.optim.g_lr, trainer.spec.optim.d_lr)


def test_a_stopped_run_resumes_on_the_same_schedule(tiny_spec, mnist5k, tmp_path):
    spec = tiny_spec(**{"optim.lr_decay": "linear", "train.steps": "6"})
    straight = Trainer(spec, run_dir=tmp_path / "a", data=mnist5k, registry=default_registry())
    straight.fit()

    first = Trainer(spec, run_dir=tmp_path / "b", data=mnist5k, registry=default_registry())
    step = first.train_step
    first.train_step = lambda *a: (first.request_stop() if first.step == 2 else None, step(*a))[1]
    first.fit()
    assert latest_checkpoint(tmp_path / "b").step == 3
    torch.manual_seed(12345)  # a resumed process starts from unrelated RNG state
    resumed = Trainer(spec, run_dir=tmp_path / "b", data=mnist5k, registry=default_registry())
    resumed.restore(latest_checkpoint(tmp_path / "b"))
    assert rates(resumed) == pytest.approx(rates(first))
    resumed.fit()
    a, b = state.state_tensors(straight), state.state_tensors(resumed)
    for key in (k for k in a if not k.startswith("rng")):
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_a_captured_step_refuses_a_decaying_rate(tiny_spec):
    with pytest.raises(SpecError, match="optim.lr_decay"):
        tiny_spec(**{"optim.lr_decay": "linear", "train.cuda_graph": "true"})
