import math
import re

import pytest
import torch

from ganparts.runs.checkpoints import list_checkpoints, load_checkpoint
from ganparts.training.nonfinite import NonFiniteError
from ganparts.runs.layout import RunDir
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry
from tests.conftest import SPECS, run_cli, tiny_overrides


def trainer_for(tiny_spec, mnist5k, tmp_path=None, **extra):
    return Trainer(tiny_spec(**extra), run_dir=tmp_path, data=mnist5k, registry=default_registry())


def state_of(module, optimizer):
    """Parameters and Adam moments (buffers such as spectral norm's power-iteration vectors move on every forward)."""
    weights = {k: v.detach().clone() for k, v in module.named_parameters()}
    moments = {(i, k): v.clone() for i, s in optimizer.state_dict()["state"].items() for k, v in s.items()}
    return weights, moments


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_stop_mode_names_the_step_and_writes_no_checkpoint_after_it(tiny_spec, mnist5k, tmp_path):
    trainer = trainer_for(tiny_spec, mnist5k, tmp_path, **{"train.checkpoint_every": "2", "train.steps": "8", "train.log_every": "1"})
    trainer.fit()  # a healthy start: checkpoints at 2, 4, 6, 8
    trainer.spec = trainer.spec.model_copy(update={"train": trainer.spec.train.model_copy(update={"steps": 12})})
    trainer.images.fill_(float("nan"))  # from step 9 on, every real batch is NaN
    with pytest.raises(NonFiniteError, match=r"training diverged at step 9: d_loss is nan;\nthe last good checkpoint, step_00000008, is kept"):
        trainer.fit()
    assert list_checkpoints(tmp_path)[-1].name == "step_00000008"
    assert [r["step"] for r in RunDir(tmp_path).read_metrics()][-1] == 9  # the bad row is logged, for the record


def first_adam_moment(optimizer):
    return next(iter(optimizer.state.values()))["exp_avg_sq"]


@pytest.mark.parametrize("corrupt, named", [
    (lambda trainer: next(trainer.discriminator.parameters()), "the discriminator's weights"),
    # Adam's second moment overflows first at a huge learning rate, while the weights are still finite.
    (lambda trainer: first_adam_moment(trainer.opt_g), "the generator optimiser's moments"),
])
def test_non_finite_tensors_are_never_checkpointed(tiny_spec, mnist5k, tmp_path, corrupt, named):
    trainer = trainer_for(tiny_spec, mnist5k, tmp_path)
    trainer.train_step(trainer.sample_real())  # Adam moments exist from here on
    trainer.save()
    with torch.no_grad():
        corrupt(trainer).view(-1)[0] = float("inf")
    trainer.step = 5
    with pytest.raises(NonFiniteError, match=f"step 5: {named} are not finite"):
        trainer.save()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000000"]


def test_skip_mode_leaves_a_bad_update_unapplied(tiny_spec, mnist5k):
    trainer = trainer_for(tiny_spec, mnist5k, **{"train.on_nonfinite": "skip"})
    real = trainer.sample_real()
    trainer.train_step(real)  # Adam moments exist from here on
    d_before, g_before = state_of(trainer.discriminator, trainer.opt_d), state_of(trainer.generator, trainer.opt_g)
    real[0, 0, 0, 0] = float("nan")
    logs = trainer.train_step(real)
    assert logs["skipped"].item() == 1 and math.isnan(logs["d_loss"].item())
    d_after, g_after = state_of(trainer.discriminator, trainer.opt_d), state_of(trainer.generator, trainer.opt_g)
    assert same(d_before[0], d_after[0]) and same(d_before[1], d_after[1])  # D: weights and Adam moments untouched
    assert not same(g_before[0], g_after[0])  # G's own update was finite, so it was applied
    logs = trainer.train_step(trainer.sample_real())
    assert logs["skipped"].item() == 0 and math.isfinite(logs["d_loss"].item())


def test_skip_mode_gives_up_when_every_step_is_bad(tiny_spec, mnist5k, monkeypatch):
    monkeypatch.setattr("ganparts.training.nonfinite.MAX_SKIPPED_IN_A_ROW", 5)  # 50 in use: the rule, in fewer steps
    steps = 5 + 5
    trainer = trainer_for(tiny_spec, mnist5k, **{"train.on_nonfinite": "skip", "train.steps": str(steps), "train.log_every": "1"})
    trainer.images.fill_(float("nan"))
    with pytest.raises(NonFiniteError, match="every step from 1 on had a non-finite loss or gradient;\nno checkpoint.*skipping cannot recover"):
        trainer.fit()
    assert trainer.step == 5
    assert all(torch.isfinite(p).all() for p in trainer.discriminator.parameters())


def test_stop_mode_adds_no_skipped_column(tiny_spec, mnist5k):
    trainer = trainer_for(tiny_spec, mnist5k)
    assert "skipped" not in trainer.train_step(trainer.sample_real())


def test_cli_divergence_exits_2_keeping_good_checkpoints(tmp_path):
    run = tmp_path / "r"
    # This rate keeps a few good checkpoints (steps 2-4) and diverges at step 5. From 1e8 on, the EMA
    # generator's recomputed BatchNorm variances overflow at step 1, before any checkpoint.
    sets = tiny_overrides(**{"optim.d_lr": "1e7", "optim.g_lr": "1e7", "train.steps": "40", "train.checkpoint_every": "1", "train.log_every": "4", "train.match_data_brightness": "false"})
    result = run_cli("train", SPECS / "sagan_mnist.yaml", "--out", run, "--no-progress", *[a for s in sets for a in ("--set", s)])
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    step = int(re.search(r"training diverged at step (\d+)", result.stderr).group(1))
    assert "lower optim.g_lr / optim.d_lr, or resume with --set train.on_nonfinite=skip" in result.stderr
    kept = list_checkpoints(run)
    assert kept and all(int(p.name[5:]) <= step for p in kept)
    for path in kept:
        assert all(torch.isfinite(t).all() for t in load_checkpoint(path).tensors.values() if t.is_floating_point())
    assert RunDir(run).read_progress()["state"] == "failed"
