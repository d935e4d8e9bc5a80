"""Every family that declares class conditioning: G draws the class asked for, D judges per class.

Driven by the registry, so a family (a plugin's included) that sets ``conditional = True`` on
its specs is tested the moment it is registered.
"""

import pytest
import torch

from ganparts.blocks.output import FlooredTanh
from ganparts.models import build_discriminator, build_generator, supports_classes
from ganparts.plugins import default_registry
from ganparts.spec.files import load_spec
from tests.conftest import MNIST_SHAPE

REGISTRY = default_registry()
FAMILIES = [
    name for name in sorted(set(REGISTRY.list("generator")) & set(REGISTRY.list("discriminator")))
    if supports_classes(REGISTRY.get("generator", name).spec) and supports_classes(REGISTRY.get("discriminator", name).spec)
]


def conditional_spec(family: str, sn: bool):
    net = {"kind": family, "width": 8, "spectral_norm": sn, "attention": [{"kind": "sagan", "resolution": 14}]}
    return load_spec({"data": {"source": "mnist-5k"}, "model": {"z_dim": 8, "num_classes": 10, "generator": net, "discriminator": net}}, registry=REGISTRY)


def test_the_built_in_families_are_conditional():
    assert {"dcgan", "resnet"} <= set(FAMILIES)


@pytest.mark.parametrize("sn", [True, False], ids=["sn", "nosn"])
@pytest.mark.parametrize("family", FAMILIES)
def test_generator_and_discriminator_use_the_labels(family, sn):
    torch.manual_seed(0)
    spec = conditional_spec(family, sn)
    G = build_generator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE)
    D = build_discriminator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE)
    with torch.no_grad():  # the per-class gains and biases start equal; training makes them differ
        for name, p in G.named_parameters():
            if ".gain." in name or ".bias.weight" in name:
                p.add_(torch.randn_like(p))
    z, images = torch.randn(4, 8), torch.randn(4, *MNIST_SHAPE)
    ones, twos = torch.ones(4, dtype=torch.long), torch.full((4,), 2)
    G.eval()
    assert G(z, ones).shape == (4, *MNIST_SHAPE) and not torch.allclose(G(z, ones), G(z, twos))
    assert D(images, ones).shape == (4,) and not torch.allclose(D(images, ones), D(images, twos))
    for network, x in ((G, z), (D, images)):
        with pytest.raises(ValueError, match="needs labels"):
            network(x)
    logits = D.train()(G.train()(z, ones), ones)
    logits.sum().backward()
    assert all(p.grad is not None for p in [*G.parameters(), *D.parameters()])  # the class embeddings learn too


@pytest.mark.parametrize("family", ["dcgan", "resnet"])
def test_a_conditional_generator_floors_its_output_slope_by_default(family):
    """Against a lost class (blocks/output.py): a conditional G's output tanh passes a slope of
    at least 0.05 back; an unconditional G's stays plain tanh; the field overrides either."""

    def output(num_classes, **generator):
        net = {"kind": family, "width": 8}
        spec = load_spec({"data": {"source": "mnist-5k"}, "model": {"z_dim": 8, "num_classes": num_classes,
                          "generator": net | generator, "discriminator": net}}, registry=REGISTRY)
        return build_generator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE).to_image[-1]

    assert type(output(0)) is torch.nn.Tanh
    assert isinstance(output(10), FlooredTanh) and output(10).slope_floor == 0.05
    assert type(output(10, output_slope_floor=0)) is torch.nn.Tanh
    assert output(0, output_slope_floor=0.2).slope_floor == 0.2
