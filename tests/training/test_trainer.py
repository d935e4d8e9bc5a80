import pytest
import torch

from ganparts.runs.checkpoints import latest_checkpoint
from ganparts.runs.layout import RunDir
from ganparts.plugins import default_registry
from ganparts.training import state
from ganparts.training.trainer import Trainer


def state_of(trainer):
    return {k: v.clone() for k, v in state.state_tensors(trainer).items() if not k.startswith("rng")}


def test_train_step_contract(tiny_spec, mnist5k):
    trainer = Trainer(tiny_spec(**{"optim.d_steps": "2"}), data=mnist5k, registry=default_registry())
    real = trainer.sample_real()
    assert real.shape == (16, 1, 28, 28)
    before = [p.clone() for p in trainer.discriminator.parameters()]
    logs = trainer.train_step(real)
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(v.dim() == 0 and not v.requires_grad for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.discriminator.parameters()))
    assert trainer.opt_d.state_dict()["state"][0]["step"].item() == 2  # two D updates
    assert trainer.opt_g.state_dict()["state"][0]["step"].item() == 1


def test_ema_trails_the_generator(tiny_spec, mnist5k):
    trainer = Trainer(tiny_spec(**{"train.ema_decay": "0.9"}), data=mnist5k, registry=default_registry())
    trainer.fit()
    live = dict(trainer.generator.named_parameters())
    shadow = dict(trainer.ema.shadow.named_parameters())
    assert any(not torch.equal(live[k], shadow[k]) for k in live)
    assert not trainer.ema.shadow.training and not any(p.requires_grad for p in shadow.values())


def test_metrics_per_step_with_gammas(tiny_spec, mnist5k, tmp_path):
    trainer = Trainer(tiny_spec(), run_dir=tmp_path, data=mnist5k, registry=default_registry())
    trainer.fit()
    rows = RunDir(tmp_path).read_metrics()
    assert [r["step"] for r in rows] == list(range(1, 7))
    for row in rows:
        assert {"d_loss", "g_loss", "step_time", "gamma/G.attn14", "gamma/D.attn14"} <= set(row)
    assert rows[-1]["gamma/G.attn14"] != 0  # gamma learns from zero


@pytest.mark.parametrize("spec_file, half", [("sagan_mnist.yaml", 20), ("wgan_gp_mnist.yaml", 4)])
def test_resume_gives_the_same_weights_as_straight_training(spec_file, half, tiny_spec, mnist5k, tmp_path):
    straight = Trainer(tiny_spec(spec_file, **{"train.steps": str(2 * half)}), run_dir=tmp_path / "a", data=mnist5k, registry=default_registry())
    straight.fit()

    first = Trainer(tiny_spec(spec_file, **{"train.steps": str(half)}), run_dir=tmp_path / "b", data=mnist5k, registry=default_registry())
    first.fit()
    torch.manual_seed(12345)  # a resumed process starts from unrelated RNG state
    resumed = Trainer(tiny_spec(spec_file, **{"train.steps": str(2 * half)}), run_dir=tmp_path / "b", data=mnist5k, registry=default_registry())
    resumed.restore(latest_checkpoint(tmp_path / "b"))
    assert resumed.step == half
    resumed.fit()

    a, b = state_of(straight), state_of(resumed)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    assert [r["step"] for r in RunDir(tmp_path / "b").read_metrics()] == list(range(1, 2 * half + 1))


def test_stop_request_saves_a_checkpoint(tiny_spec, mnist5k, tmp_path):
    trainer = Trainer(tiny_spec(**{"train.steps": "50"}), run_dir=tmp_path, data=mnist5k, registry=default_registry())
    trainer.train_step = (lambda step: lambda *a: (trainer.request_stop(), step(*a))[1])(trainer.train_step)
    trainer.fit()
    assert trainer.step == 1 and latest_checkpoint(tmp_path).step == 1
