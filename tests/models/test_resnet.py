"""The resnet family: residual stages at 7/14/28, attention placed by resolution as in dcgan."""

import pytest
import torch
from torch import nn

from ganparts.models import build_discriminator, build_generator
from ganparts.models.resnet import DownBlock, UpBlock
from ganparts.plugins import default_registry
from ganparts.spec.files import load_spec, spec_to_data
from tests.conftest import MNIST_SHAPE, SPECS

REGISTRY = default_registry()


def shapes_of(network, example):
    """Each top-level stage's name and output shape (batch dropped)."""
    shapes = []
    for name, layer in network.named_children():
        layer.register_forward_hook(lambda m, a, out, name=name: shapes.append((name, tuple(out.shape[1:]))))
    with torch.no_grad():
        out = network.eval()(example)
    return shapes, out


@pytest.mark.parametrize("kind", ["sagan", "sagan_pooled"])
@pytest.mark.parametrize("resolution", [7, 14, 28])
def test_generator_shapes_with_attention_at_each_resolution(resolution, kind, tiny_spec):
    spec = tiny_spec("sagan_resnet_mnist.yaml", **{"model.generator.attention": f"[{{kind: {kind}, resolution: {resolution}}}]"})
    shapes, images = shapes_of(build_generator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE), torch.randn(3, spec.model.z_dim))
    w = spec.model.generator.width
    side_channels = {7: 4 * w, 14: 2 * w, 28: w}
    stages = [("stem", (4 * w, 7, 7)), ("up14", (2 * w, 14, 14)), ("up28", (w, 28, 28))]
    at = [name for name, _ in stages].index({7: "stem", 14: "up14", 28: "up28"}[resolution]) + 1
    stages.insert(at, (f"attn{resolution}", (side_channels[resolution], resolution, resolution)))
    assert shapes == [*stages, ("to_image", MNIST_SHAPE)]
    assert images.shape == (3, *MNIST_SHAPE) and images.abs().max() <= 1


@pytest.mark.parametrize("kind", ["sagan", "sagan_pooled"])
@pytest.mark.parametrize("resolution", [28, 14, 7])
def test_discriminator_shapes_with_attention_at_each_resolution(resolution, kind, tiny_spec):
    spec = tiny_spec("sagan_resnet_mnist.yaml", **{"model.discriminator.attention": f"[{{kind: {kind}, resolution: {resolution}}}]"})
    shapes, logits = shapes_of(build_discriminator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE), torch.randn(3, *MNIST_SHAPE))
    w = spec.model.discriminator.width
    stages = [("block28", (w, 28, 28)), ("down14", (2 * w, 14, 14)), ("down7", (4 * w, 7, 7))]
    at = {28: 1, 14: 2, 7: 3}[resolution]
    stages.insert(at, (f"attn{resolution}", stages[at - 1][1]))
    assert shapes == [*stages, ("head", ())]
    assert logits.shape == (3,)


def test_attention_everywhere_and_twice_at_one_resolution(tiny_spec):
    spec = tiny_spec(
        "sagan_resnet_mnist.yaml",
        **{
            "model.generator.attention": "[{kind: sagan, resolution: 7}, {kind: sagan, resolution: 14}, {kind: sagan_pooled, resolution: 28}]",
            "model.discriminator.attention": "[{kind: sagan, resolution: 28}, {kind: sagan, resolution: 28}, {kind: sagan, resolution: 7}]",
        },
    )
    G = build_generator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE)
    D = build_discriminator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE)
    assert list(dict(G.named_children())) == ["stem", "attn7", "up14", "attn14", "up28", "attn28", "to_image"]
    assert list(dict(D.named_children())) == ["block28", "attn28_0", "attn28_1", "down14", "down7", "attn7", "head"]
    assert D(G(torch.randn(2, spec.model.z_dim))).shape == (2,)


def test_a_resolution_the_network_lacks_is_refused():
    data = {"model": {"generator": {"kind": "resnet", "attention": [{"kind": "sagan", "resolution": 9}]}, "discriminator": {"kind": "resnet"}}}
    with pytest.raises(Exception, match="resolution 9 does not exist in this network; allowed: 7, 14, 28"):
        load_spec(data, registry=REGISTRY)


def test_blocks_have_learned_shortcuts_where_channels_change():
    norm = lambda c: nn.BatchNorm2d(c)  # noqa: E731
    assert isinstance(UpBlock(16, 8, norm=norm).shortcut, nn.Conv2d)
    assert isinstance(UpBlock(8, 8, norm=norm).shortcut, nn.Identity)
    assert UpBlock(16, 8, norm=norm)(torch.randn(2, 16, 7, 7)).shape == (2, 8, 14, 14)
    assert DownBlock(8, 16, norm=norm)(torch.randn(2, 8, 14, 14)).shape == (2, 16, 7, 7)
    assert DownBlock(1, 8, norm=norm, first=True)(torch.randn(2, 1, 28, 28)).shape == (2, 8, 28, 28)


def test_generator_norms_follow_the_spec(tiny_spec):
    G = build_generator(tiny_spec("resnet_mnist.yaml"), registry=REGISTRY, image_shape=MNIST_SHAPE)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 5  # two per up-block, one before the output
    G = build_generator(tiny_spec("resnet_mnist.yaml", **{"model.generator.norm": "group"}), registry=REGISTRY, image_shape=MNIST_SHAPE)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.modules()) and sum(isinstance(m, nn.GroupNorm) for m in G.modules()) == 5


def test_spectral_norm_reaches_every_layer(tiny_spec):
    spec = tiny_spec("sagan_resnet_mnist.yaml")
    for network in (build_generator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE), build_discriminator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE)):
        weighted = [m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert weighted and all(hasattr(m, "parametrizations") for m in weighted)
    spec = tiny_spec("sagan_resnet_mnist.yaml", **{"model.discriminator.spectral_norm": "false"})
    assert not any(hasattr(m, "parametrizations") for m in build_discriminator(spec, registry=REGISTRY, image_shape=MNIST_SHAPE).modules())


def test_resnet_refuses_images_it_cannot_make(tiny_spec):
    with pytest.raises(ValueError, match="the resnet generator makes 28×28 images, not 32×32"):
        build_generator(tiny_spec("resnet_mnist.yaml"), registry=REGISTRY, image_shape=(3, 32, 32))
    with pytest.raises(ValueError, match="the resnet discriminator reads 28×28 images, not 32×32"):
        build_discriminator(tiny_spec("resnet_mnist.yaml"), registry=REGISTRY, image_shape=(3, 32, 32))


def test_builders_ignore_context_they_do_not_know(tiny_spec):
    spec = tiny_spec("resnet_mnist.yaml")
    G = REGISTRY.create("generator", spec.model.generator, z_dim=16, image_shape=MNIST_SHAPE, registry=REGISTRY, some_future_option=1)
    assert G(torch.randn(2, 16)).shape == (2, *MNIST_SHAPE)


def test_resnet_specs_differ_only_in_attention():
    sagan, base = (spec_to_data(load_spec(SPECS / name, registry=REGISTRY)) for name in ("sagan_resnet_mnist.yaml", "resnet_mnist.yaml"))
    for net in ("generator", "discriminator"):
        assert sagan["model"][net]["kind"] == "resnet"
        assert sagan["model"][net].pop("attention") and base["model"][net].pop("attention") == []
    sagan.pop("name"), base.pop("name")
    assert sagan == base
