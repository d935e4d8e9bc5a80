import dataclasses

import pytest
import torch

from ganparts.runs.checkpoints import latest_checkpoint
from ganparts.runs.layout import RunDir
from ganparts.plugins import default_registry
from ganparts.training import distributed, state
from ganparts.training.distributed import Ranks
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


# --- class-conditional training ------------------------------------------------------


def test_images_and_labels_are_drawn_with_the_same_indices(tiny_spec, mnist5k):
    trainer = Trainer(tiny_spec("sagan_cond_mnist.yaml", **{"optim.d_steps": "2"}), data=mnist5k, registry=default_registry())
    before = torch.get_rng_state()
    real, labels = trainer.sample_batch()
    torch.set_rng_state(before)
    index = torch.randint(len(trainer.images), (16,))
    assert torch.equal(real, trainer.images[index]) and torch.equal(labels, trainer.labels[index])
    assert torch.equal(trainer.labels, mnist5k.labels)
    assert trainer.fixed_labels.tolist() == [0, 1, 2, 3]  # train.grid_size 4: the grid cycles through the classes
    logs = trainer.train_step(real, labels)
    assert set(logs) >= {"d_loss", "g_loss", "d_real", "d_fake"} and all(torch.isfinite(v) for v in logs.values())
    with pytest.raises(ValueError, match="takes labels exactly when model.num_classes > 0"):
        trainer.train_step(real)
    unconditional = Trainer(tiny_spec(), data=mnist5k, registry=default_registry())
    assert unconditional.sample_batch()[1] is None and unconditional.fixed_labels is None
    with pytest.raises(ValueError, match="takes labels exactly when model.num_classes > 0"):
        unconditional.train_step(real, labels)


def test_a_model_of_fewer_classes_trains_on_those_digits_only(tiny_spec, mnist5k):
    trainer = Trainer(tiny_spec("sagan_cond_mnist.yaml", **{"model.num_classes": "3"}), data=mnist5k, registry=default_registry())
    assert set(trainer.labels.tolist()) == {0, 1, 2} and len(trainer.images) == len(trainer.labels) == 1200


@pytest.mark.parametrize("loss", default_registry().list("loss"))
def test_every_loss_and_penalty_sees_the_labels(loss, tiny_spec, mnist5k):
    """D is called with the labels of the images it scores: real, fake, the penalty's, and the
    real ones again in the G step of a loss that compares with them (a relativistic loss)."""
    extra = {"loss.kind": loss, "optim.d_steps": "2"} | ({} if loss == "wgan-gp" else {"penalties": "[{kind: gp}]"})
    trainer = Trainer(tiny_spec("sagan_cond_mnist.yaml", **extra), data=mnist5k, registry=default_registry())
    trainer.loss = dataclasses.replace(trainer.loss, g_needs_real_logits=True)
    seen = []
    trainer.discriminator.register_forward_pre_hook(lambda m, args: seen.append(args[1]))
    real, labels = trainer.sample_batch()
    logs = trainer.train_step(real, labels)
    assert all(torch.isfinite(v) for v in logs.values())
    first, second = labels.chunk(2)
    # Each D update: reals and fakes in one call (their labels concatenated), then the penalty at interpolates.
    assert trainer.joint_d and [s.shape[0] for s in seen] == [16, 8, 16, 8, 8, 8]
    assert torch.equal(seen[0][:8], first) and torch.equal(seen[1], first)
    assert torch.equal(seen[2][:8], second) and torch.equal(seen[-1], second)  # the last real batch, again in the G step


def test_labels_are_sharded_alongside_the_images(tiny_spec, mnist5k, monkeypatch):
    monkeypatch.setattr(distributed, "data_parallel", lambda module, ranks, device: module)  # no process group here
    trainer = Trainer(tiny_spec("sagan_cond_mnist.yaml"), data=mnist5k, registry=default_registry(), ranks=Ranks(rank=1, world_size=2))
    images, labels = mnist5k.to_float()
    assert torch.equal(trainer.images, images[1::2]) and torch.equal(trainer.labels, labels[1::2])


def test_resume_with_labels_gives_the_same_weights_as_straight_training(tiny_spec, mnist5k, tmp_path):
    extra = {"optim.d_steps": "2", "train.ema_decay": "0.9"}
    straight = Trainer(tiny_spec("sagan_cond_mnist.yaml", **extra, **{"train.steps": "6"}), run_dir=tmp_path / "a", data=mnist5k, registry=default_registry())
    straight.fit()
    first = Trainer(tiny_spec("sagan_cond_mnist.yaml", **extra, **{"train.steps": "3"}), run_dir=tmp_path / "b", data=mnist5k, registry=default_registry())
    first.fit()
    torch.manual_seed(12345)  # a resumed process starts from unrelated RNG state
    resumed = Trainer(tiny_spec("sagan_cond_mnist.yaml", **extra, **{"train.steps": "6"}), run_dir=tmp_path / "b", data=mnist5k, registry=default_registry())
    resumed.restore(latest_checkpoint(tmp_path / "b"))
    resumed.fit()
    a, b = state_of(straight), state_of(resumed)
    assert a.keys() == b.keys() and any("gain" in k for k in a) and any("head.embed" in k for k in a)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    assert (tmp_path / "b" / "samples" / "step_00000006.png").is_file()
