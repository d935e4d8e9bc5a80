"""Registry-driven smoke tests: every registered block (plugins included) trains a step.

Like timm's tests, a new block is tested the moment it is registered.
"""

import pytest
import torch

from ganparts.models import IMAGE_SHAPE, build_discriminator, build_generator
from ganparts.plugins import default_registry
from ganparts.spec.files import load_spec

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
    return load_spec(data)


def one_step(spec):
    """Forward + backward through D and G with ``spec``'s loss and penalties; returns both losses."""
    torch.manual_seed(0)
    G, D = build_generator(spec).train(), build_discriminator(spec).train()
    loss = REGISTRY.create("loss", spec.loss)
    penalties = loss.penalties + tuple(REGISTRY.create("penalty", p) for p in spec.penalties)
    real = torch.rand(4, *IMAGE_SHAPE) * 2 - 1
    fake = G(torch.randn(4, spec.model.z_dim))
    assert fake.shape == (4, *IMAGE_SHAPE) and fake.abs().max() <= 1
    d_loss = loss.d_loss(D(real), D(fake.detach())) + sum(p(discriminator=D, real=real, fake=fake) for p in penalties)
    d_loss.backward()
    g_loss = loss.g_loss(D(fake), D(real) if loss.g_needs_real_logits else None)
    g_loss.backward()
    for net in (G, D):
        grads = [p.grad for p in net.parameters() if p.requires_grad]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(d_loss) and torch.isfinite(g_loss)
    return d_loss, g_loss


@pytest.mark.parametrize("sn", [True, False], ids=["sn", "nosn"])
@pytest.mark.parametrize("name", REGISTRY.list("attention"))
def test_every_attention_in_both_networks_at_every_resolution(name, sn):
    g_res = REGISTRY.get("generator", "dcgan").spec.resolutions
    d_res = REGISTRY.get("discriminator", "dcgan").spec.resolutions
    spec = experiment(
        generator={"spectral_norm": sn, "attention": [{"kind": name, "resolution": r} for r in g_res]},
        discriminator={"spectral_norm": sn, "attention": [{"kind": name, "resolution": r} for r in d_res]},
    )
    one_step(spec)


@pytest.mark.parametrize("sn", [True, False], ids=["sn", "nosn"])
@pytest.mark.parametrize("name", REGISTRY.list("norm"))
def test_every_norm(name, sn):
    one_step(experiment(generator={"norm": {"kind": name}, "spectral_norm": sn}, discriminator={"norm": {"kind": name}, "spectral_norm": sn}))


@pytest.mark.parametrize("name", REGISTRY.list("loss"))
def test_every_loss(name):
    one_step(experiment(loss={"kind": name}))


@pytest.mark.parametrize("name", REGISTRY.list("penalty"))
def test_every_penalty(name):
    one_step(experiment(penalties=[{"kind": name}]))


@pytest.mark.parametrize("sn", [True, False], ids=["sn", "nosn"])
@pytest.mark.parametrize("name", sorted(set(REGISTRY.list("generator")) & set(REGISTRY.list("discriminator"))))
def test_every_family(name, sn):
    one_step(experiment(generator={"kind": name, "spectral_norm": sn}, discriminator={"kind": name, "spectral_norm": sn}))
