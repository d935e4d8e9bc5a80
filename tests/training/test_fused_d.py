"""Reals and fakes through D in one call (training.scoring): the same D step as two calls, where
D scores each image on its own; two calls where it does not (BatchNorm)."""

import pytest
import torch
from torch import nn

from ganparts.blocks.norm import ConditionalBatchNorm2d
from ganparts.plugins import default_registry
from ganparts.training.scoring import batch_dependent
from ganparts.training.trainer import Trainer

NO_SN = {"model.discriminator.spectral_norm": "false"}  # see test_spectral_norm_runs_its_power_iteration_once_per_d_update
# Rates small enough that three of Adam's near-sign steps stay below the weights' movement (the bound below).
RATES = {"optim.g_lr": "2e-4", "optim.d_lr": "4e-4"}
ADA = {"augment": "[{kind: translation, p: 0.5}]", "train.ada_target": "0.6", "train.ada_interval": "1000"}


def train(spec, data, *, joint: bool, steps: int):
    """``steps`` steps of a fresh trainer; returns it, its per-step logs and the gradients of its first D update."""
    trainer = Trainer(spec, data=data, registry=default_registry())  # seeds torch: both runs draw the same
    trainer.joint_d = joint
    grads, guarded = [], trainer.guard.step

    def step(optimizer, loss, apply):
        if not grads:
            grads.extend(p.grad.clone() for group in optimizer.param_groups for p in group["params"])
        guarded(optimizer, loss, apply)

    trainer.guard.step = step
    logs = [trainer.train_step(*trainer.sample_batch()) for _ in range(steps)]
    return trainer, logs, grads


@pytest.mark.parametrize("spec_file, extra", [("sagan_mnist.yaml", {}), ("sagan_cond_mnist.yaml", {}), ("sagan_mnist.yaml", ADA)], ids=["plain", "conditional", "ada"])
def test_one_call_trains_like_two_calls(spec_file, extra, tiny_spec, mnist5k):
    spec = tiny_spec(spec_file, **NO_SN, **RATES, **extra)
    one, one_logs, one_grads = train(spec, mnist5k, joint=True, steps=3)
    two, two_logs, two_grads = train(spec, mnist5k, joint=False, steps=3)
    assert one.joint_d and len(one_grads) == len(list(one.discriminator.parameters()))
    # The first D update's gradients: the same sums, only accumulated in another order.
    for a, b in zip(one_grads, two_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * b.abs().max().item())
    # d_real and d_fake are the two halves of the one call's logits, in that order.
    for a, b in zip(one_logs, two_logs):
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=1e-3, atol=1e-4, msg=key)
    # Adam's update is nearly sign(gradient), so a gradient near zero turns rounding into a
    # difference of up to the learning rate; every weight still moved the same way.
    initial = Trainer(spec, data=mnist5k, registry=default_registry()).weights()
    changed = max((b - w).abs().max().item() for b, w in zip(two.weights(), initial))
    differ = max((a - b).abs().max().item() for a, b in zip(one.weights(), two.weights()))
    assert differ < 0.5 * changed
    # ADA counted the real logits only: 8 per step, whichever way D was called.
    assert torch.equal(one.augment.real_signs, two.augment.real_signs)
    if extra:
        assert one.augment.real_signs[1].item() == 3 * 8


def d_calls(trainer) -> list[int]:
    """Batch sizes D is called with during one training step."""
    seen = []
    handle = trainer.discriminator.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[0]))
    trainer.train_step(*trainer.sample_batch())
    handle.remove()
    return seen


def test_d_with_batchnorm_keeps_two_calls(tiny_spec, mnist5k):
    joint = Trainer(tiny_spec(), data=mnist5k, registry=default_registry())
    assert joint.joint_d and d_calls(joint) == [16, 8]  # D step: reals + fakes; G step: fakes
    batchnorm = Trainer(tiny_spec(**{"model.discriminator.norm": "{kind: batch}"}), data=mnist5k, registry=default_registry())
    assert not batchnorm.joint_d and d_calls(batchnorm) == [8, 8, 8]


class MinibatchStd(nn.Module):
    batch_dependent = True  # how a plugin block says that its output depends on the rest of the batch

    def forward(self, x):
        return x + x.std(0).mean()


@pytest.mark.parametrize("module, dependent", [
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.LeakyReLU(0.1), nn.GroupNorm(2, 4), nn.InstanceNorm2d(4)), False),
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)), True),
    (nn.SyncBatchNorm(4), True),
    (ConditionalBatchNorm2d(4, num_classes=3), True),
    (nn.InstanceNorm2d(4, track_running_stats=True), True),
    (nn.Sequential(nn.Conv2d(1, 4, 3), MinibatchStd()), True),
])
def test_batch_dependent_finds_batch_statistics(module, dependent):
    assert batch_dependent(module) is dependent


def test_spectral_norm_runs_its_power_iteration_once_per_d_update(tiny_spec, mnist5k):
    """With spectral norm, one call is one power iteration where two calls were two, and reals and
    fakes are scored with the same sigma: the step is not the two-call one (see training.scoring)."""
    spec = tiny_spec()
    one, one_logs, _ = train(spec, mnist5k, joint=True, steps=1)
    two, two_logs, _ = train(spec, mnist5k, joint=False, steps=1)
    torch.testing.assert_close(one_logs[0]["d_real"], two_logs[0]["d_real"])  # the first call is the same in both
    u = "down7.0.parametrizations.weight.0._u"
    fresh = Trainer(spec, data=mnist5k, registry=default_registry()).discriminator.state_dict()[u]
    assert not torch.equal(one.discriminator.state_dict()[u], two.discriminator.state_dict()[u])
    assert not torch.equal(one.discriminator.state_dict()[u], fresh)
