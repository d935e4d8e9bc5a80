"""Registry-driven smoke tests: every registered block (plugins included) trains a step.

Like timm's tests, a new block is tested the moment it is registered. Each step is the real
``Trainer.train_step`` after the real :func:`~ganparts.training.preflight.preflight`, so a block
that breaks training — not only a hand-written loop — fails here.
"""

import pytest
import torch

from ganparts.plugins import default_registry
from ganparts.spec.files import load_spec
from ganparts.training.preflight import preflight
from ganparts.training.trainer import Trainer

REGISTRY = default_registry()


def experiment(generator=None, discriminator=None, loss=None, penalties=()):
    data = {
        "data": {"source": "mnist-5k", "batch_size": 4},
        "model": {
            "z_dim": 8,
            "generator": {"kind": "dcgan", "width": 8} | (generator or {}),
            "discriminator": {"kind": "dcgan", "width": 8} | (discriminator or {}),
        },
        "loss": loss or {"kind": "hinge"},
        "penalties": list(penalties),
    }
    return load_spec(data, registry=REGISTRY)


@pytest.fixture
def one_step(mnist5k):
    """One real training step of a spec: D and G both learn, every loss and gradient finite."""

    def step(spec):
        preflight(spec, registry=REGISTRY, device=torch.device("cpu"))
        trainer = Trainer(spec, registry=REGISTRY, data=mnist5k)
        before = [p.detach().clone() for net in (trainer.generator, trainer.discriminator) for p in net.parameters()]
        logs = trainer.train_step(trainer.sample_real())
        assert all(torch.isfinite(v) for v in logs.values()), logs
        for net in (trainer.generator, trainer.discriminator):
            assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
        after = [p for net in (trainer.generator, trainer.discriminator) for p in net.parameters()]
        assert sum(not torch.equal(a, b) for a, b in zip(before, after)) > len(after) // 2  # most weights moved
        with torch.no_grad():
            fake = trainer.generator.eval()(trainer.noise(4))
        assert fake.shape == (4, *mnist5k.image_shape) and fake.abs().max() <= 1
        return logs

    return step


@pytest.mark.parametrize("sn", [True, False], ids=["sn", "nosn"])
@pytest.mark.parametrize("name", REGISTRY.list("attention"))
def test_every_attention_in_both_networks_at_every_resolution(name, sn, one_step):
    g_res = REGISTRY.get("generator", "dcgan").spec.resolutions
    d_res = REGISTRY.get("discriminator", "dcgan").spec.resolutions
    spec = experiment(
        generator={"spectral_norm": sn, "attention": [{"kind": name, "resolution": r} for r in g_res]},
        discriminator={"spectral_norm": sn, "attention": [{"kind": name, "resolution": r} for r in d_res]},
    )
    one_step(spec)


@pytest.mark.parametrize("sn", [True, False], ids=["sn", "nosn"])
@pytest.mark.parametrize("name", REGISTRY.list("norm"))
def test_every_norm(name, sn, one_step):
    one_step(experiment(generator={"norm": {"kind": name}, "spectral_norm": sn}, discriminator={"norm": {"kind": name}, "spectral_norm": sn}))


@pytest.mark.parametrize("name", REGISTRY.list("loss"))
def test_every_loss(name, one_step):
    one_step(experiment(loss={"kind": name}))


@pytest.mark.parametrize("name", REGISTRY.list("penalty"))
def test_every_penalty(name, one_step):
    one_step(experiment(penalties=[{"kind": name}]))


@pytest.mark.parametrize("sn", [True, False], ids=["sn", "nosn"])
@pytest.mark.parametrize("name", sorted(set(REGISTRY.list("generator")) & set(REGISTRY.list("discriminator"))))
def test_every_family(name, sn, one_step):
    one_step(experiment(generator={"kind": name, "spectral_norm": sn}, discriminator={"kind": name, "spectral_norm": sn}))
