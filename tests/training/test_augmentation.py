"""Augmentation in training: every D input augmented, ADA's strength steered by D's real logits,
logged, checkpointed; without augmentation nothing changes."""

import pytest
import torch
from torch import nn

from ganparts.plugins import default_registry
from ganparts.runs.checkpoints import latest_checkpoint
from ganparts.runs.layout import RunDir
from ganparts.training import state
from ganparts.training.augmentation import Augmentation
from ganparts.training.trainer import Trainer

AUGMENT = "[{kind: translation, p: 0.8, shift: 2}, {kind: cutout, p: 0.5, size: 6}]"


def augmented(tiny_spec, **extra):
    return tiny_spec(**{"augment": AUGMENT} | extra)


def adaptive(tiny_spec, **extra):
    return augmented(tiny_spec, **{"train.ada_target": "0.6", "train.ada_interval": "2", "train.ada_ramp": "20"} | extra)


def test_without_augment_nothing_is_drawn_and_nothing_logged(tiny_spec, mnist5k):
    trainer = Trainer(tiny_spec(), data=mnist5k, registry=default_registry())
    images = torch.randn(4, 1, 28, 28)
    before = torch.get_rng_state()
    assert trainer.augment(images) is images and torch.equal(torch.get_rng_state(), before)
    assert "augment_p" not in trainer.train_step(trainer.sample_real())
    assert not any(k.startswith("augment") for k in state.state_tensors(trainer))


@pytest.mark.parametrize("target, logit, start, moves", [(0.6, 3.0, 0.0, "up"), (0.6, -3.0, 1.0, "down"), (0.6, 3.0, 1.0, "stays")])
def test_ada_strength_follows_the_sign_of_real_logits(target, logit, start, moves, tiny_spec):
    """A planted D: real logits all positive (overfitting) raise the strength, all negative lower it, within [0, 1]."""
    ada = Augmentation(adaptive(tiny_spec, **{"train.ada_target": str(target)}), registry=default_registry())
    ada.strength.fill_(start)
    history = []
    for step in range(1, 9):
        ada.observe(torch.full((8,), logit))
        ada.adjust(step)
        history.append(ada.strength.item())
    step = 2 / 20  # ada_interval / ada_ramp per adjustment, every second step
    expected = {"up": [0, 1, 1, 2, 2, 3, 3, 4], "down": [10, 9, 9, 8, 8, 7, 7, 6], "stays": [10] * 8}[moves]
    assert history == pytest.approx([e * step for e in expected])


def test_ada_starts_at_0_and_a_fixed_strength_is_1(tiny_spec):
    assert Augmentation(adaptive(tiny_spec), registry=default_registry()).strength.item() == 0
    fixed = Augmentation(augmented(tiny_spec), registry=default_registry())
    fixed.observe(torch.full((8,), 3.0))
    fixed.adjust(2)
    assert fixed.strength.item() == 1


class PlantedD(nn.Module):
    """A discriminator that calls everything real (sign +1) or fake (-1), yet passes gradients to G."""

    def __init__(self, sign: float) -> None:
        super().__init__()
        self.sign = sign
        self.unused = nn.Parameter(torch.zeros(()))  # so that D's loss has a graph to run backward through

    def forward(self, images):
        return self.sign * (3 + 0 * images.flatten(1).sum(1)) + 0 * self.unused


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_ada_in_training_moves_the_logged_p_the_right_way(sign, tiny_spec, mnist5k, tmp_path):
    trainer = Trainer(adaptive(tiny_spec, **{"train.steps": "8", "train.log_every": "4"}), run_dir=tmp_path, data=mnist5k, registry=default_registry())
    trainer.synced_d = trainer.local_d = PlantedD(sign)
    if sign < 0:
        trainer.augment.strength.fill_(1.0)
    trainer.fit()
    logged = [row["augment_p"] for row in RunDir(tmp_path).read_metrics()]
    assert len(logged) == 8
    assert logged == (sorted(logged) if sign > 0 else sorted(logged, reverse=True)) and logged[0] != logged[-1]


def test_every_d_input_is_augmented_and_g_learns_through_it(tiny_spec, mnist5k):
    trainer = Trainer(augmented(tiny_spec, **{"augment": "[{kind: cutout, p: 1, size: 6, fill: 0}]", "loss": "rahinge"}), data=mnist5k, registry=default_registry())
    seen = []
    trainer.discriminator.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    trainer.train_step(trainer.sample_real())
    # D step: reals and fakes (in one call); G step: fakes, and reals for a relativistic loss. Each has a zeroed square.
    assert [len(images) for images in seen] == [16, 8, 8]
    assert all(((images == 0).flatten(1).sum(1) >= 4).all() for images in seen)
    grads = [p.grad for p in trainer.generator.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_augment_p_is_logged_every_step(tiny_spec, mnist5k, tmp_path):
    Trainer(augmented(tiny_spec), run_dir=tmp_path, data=mnist5k, registry=default_registry()).fit()
    assert [row["augment_p"] for row in RunDir(tmp_path).read_metrics()] == [1.0] * 6


def test_resume_with_adaptive_augmentation_is_bit_identical(tiny_spec, mnist5k, tmp_path):
    """The augmentations' draws come from the checkpointed RNG; strength and ADA statistics are saved
    (the checkpoint at step 5 falls inside an adjustment interval of 2)."""

    def spec(steps):
        # The rates the strength's path was checked at: it must end strictly between 0 and 1.
        rates = {"optim.g_lr": "2e-4", "optim.d_lr": "4e-4"}
        return adaptive(lambda **kw: tiny_spec("dcgan_mnist.yaml", **kw), **{"train.steps": str(steps), "train.ada_ramp": "40", **rates})

    straight = Trainer(spec(10), run_dir=tmp_path / "a", data=mnist5k, registry=default_registry())
    straight.fit()
    first = Trainer(spec(5), run_dir=tmp_path / "b", data=mnist5k, registry=default_registry())
    first.fit()
    assert first.augment.real_signs[1] > 0  # mid-interval: statistics pending
    torch.manual_seed(12345)  # a resumed process starts from unrelated RNG state
    resumed = Trainer(spec(10), run_dir=tmp_path / "b", data=mnist5k, registry=default_registry())
    resumed.restore(latest_checkpoint(tmp_path / "b"))
    resumed.fit()

    a, b = (state.state_tensors(t) for t in (straight, resumed))
    assert a.keys() == b.keys() and {"augment.strength", "augment.real_signs"} <= a.keys()
    for key in a:
        if not key.startswith("rng"):
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    assert 0 < a["augment.strength"] < 1
    rows_a, rows_b = (RunDir(tmp_path / run).read_metrics() for run in "ab")
    assert [r["augment_p"] for r in rows_a] == [r["augment_p"] for r in rows_b]
