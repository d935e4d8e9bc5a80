import pytest
import torch

from ganparts.blocks.norm import ConditionalBatchNorm2d
from ganparts.blocks.projection import ProjectionHead
from ganparts.models import build_discriminator, build_generator
from ganparts.plugins import default_registry
from tests.conftest import MNIST_SHAPE


def test_generator_stages_follow_the_diagram(tiny_spec):
    spec = tiny_spec(**{"model.generator.attention": "[{kind: sagan, resolution: 7}, {kind: sagan_pooled, resolution: 28}]"})
    G = build_generator(spec, registry=default_registry(), image_shape=MNIST_SHAPE)
    assert list(dict(G.named_children())) == ["stem", "attn7", "up14", "up28", "attn28", "to_image"]
    shapes = []
    for layer in G:
        layer.register_forward_hook(lambda m, a, out: shapes.append(tuple(out.shape[1:])))
    G.eval()(torch.randn(2, spec.model.z_dim))
    w = spec.model.generator.width
    assert shapes == [(4 * w, 7, 7), (4 * w, 7, 7), (2 * w, 14, 14), (w, 28, 28), (w, 28, 28), (1, 28, 28)]


def test_discriminator_mirrors_and_gives_one_logit(tiny_spec):
    spec = tiny_spec(**{"model.discriminator.attention": "[{kind: sagan, resolution: 28}, {kind: sagan, resolution: 28}]"})
    D = build_discriminator(spec, registry=default_registry(), image_shape=MNIST_SHAPE)
    assert list(dict(D.named_children())) == ["from_image", "attn28_0", "attn28_1", "down14", "down7", "head"]
    assert D(torch.randn(3, 1, 28, 28)).shape == (3,)


def test_baseline_has_no_attention(tiny_spec):
    spec = tiny_spec("dcgan_mnist.yaml")
    names = [n for n, _ in build_generator(spec, registry=default_registry(), image_shape=MNIST_SHAPE).named_modules()] + [n for n, _ in build_discriminator(spec, registry=default_registry(), image_shape=MNIST_SHAPE).named_modules()]
    assert not any("attn" in n for n in names)


def test_spectral_norm_reaches_attention_projections(tiny_spec):
    spec = tiny_spec(**{"model.discriminator.attention": "[{kind: sagan, resolution: 14}]"})
    D = build_discriminator(spec, registry=default_registry(), image_shape=MNIST_SHAPE)
    assert hasattr(D.attn14.query, "parametrizations") and hasattr(D.head[1], "parametrizations")
    spec = tiny_spec(**{"model.discriminator.spectral_norm": "false", "model.discriminator.attention": "[{kind: sagan, resolution: 14}]"})
    assert not any(hasattr(m, "parametrizations") for m in build_discriminator(spec, registry=default_registry(), image_shape=MNIST_SHAPE).modules())


def test_generator_uses_batchnorm_by_default(tiny_spec):
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in build_generator(tiny_spec(), registry=default_registry(), image_shape=MNIST_SHAPE).modules())


def test_width_too_small_for_heads_is_refused_by_the_builder(tiny_spec):
    """A family raises ValueError; preflight turns it into a SpecError naming the field (tests/training/test_preflight.py)."""
    spec = tiny_spec(**{"model.generator.attention": "[{kind: sagan, resolution: 28, heads: 4}]"})
    with pytest.raises(ValueError, match="attention at 8 channels"):
        build_generator(spec, registry=default_registry(), image_shape=MNIST_SHAPE)


def test_dcgan_refuses_images_it_cannot_make(tiny_spec):
    with pytest.raises(ValueError, match="makes 28×28 images, not 32×32"):
        build_generator(tiny_spec(), registry=default_registry(), image_shape=(3, 32, 32))


def test_conditional_networks_take_labels_and_the_class_matters(tiny_spec):
    spec = tiny_spec("sagan_cond_mnist.yaml")
    registry = default_registry()
    torch.manual_seed(0)
    G = build_generator(spec, registry=registry, image_shape=MNIST_SHAPE)
    D = build_discriminator(spec, registry=registry, image_shape=MNIST_SHAPE)
    assert G.num_classes == D.num_classes == 10
    norms = [m for m in G.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(norms) == 3 and all(n.gain.num_embeddings == 10 for n in norms)  # every G norm is conditional
    assert isinstance(D.head, ProjectionHead) and hasattr(D.head.embed, "parametrizations")
    z, sevens, threes = torch.randn(4, spec.model.z_dim), torch.full((4,), 7), torch.full((4,), 3)
    with torch.no_grad():  # class embeddings start equal: make them differ, as training does
        for norm in norms:
            norm.bias.weight.normal_()
    G.eval()
    assert G(z, sevens).shape == (4, 1, 28, 28)
    assert not torch.allclose(G(z, sevens), G(z, threes))
    images = torch.randn(4, 1, 28, 28)
    assert D(images, sevens).shape == (4,) and not torch.allclose(D(images, sevens), D(images, threes))
    with pytest.raises(ValueError, match="needs labels"):
        G(z)
    with pytest.raises(ValueError, match="needs labels"):
        D(images)


def test_unconditional_networks_refuse_labels_and_keep_their_layout(tiny_spec):
    spec = tiny_spec()
    G = build_generator(spec, registry=default_registry(), image_shape=MNIST_SHAPE)
    D = build_discriminator(spec, registry=default_registry(), image_shape=MNIST_SHAPE)
    assert G.num_classes == D.num_classes == 0
    assert not any(isinstance(m, ConditionalBatchNorm2d) for m in G.modules())
    assert "head.1.parametrizations.weight.original" in D.state_dict()  # checkpoints of earlier runs still load
    with pytest.raises(ValueError, match="unconditional"):
        G(torch.randn(2, spec.model.z_dim), torch.tensor([1, 2]))


def test_a_conditional_generator_needs_a_norm_the_class_can_enter_through(tiny_spec):
    spec = tiny_spec("sagan_cond_mnist.yaml", **{"model.generator.norm": "group"})
    with pytest.raises(ValueError, match="norm 'group' has no class-conditional form"):
        build_generator(spec, registry=default_registry(), image_shape=MNIST_SHAPE)


@pytest.mark.parametrize("stem_bias, conditional, expected", [
    ("null", False, True),  # as every run before the option: their checkpoints load
    ("null", True, False),  # a conditional G's stem bias let it ignore z (docs/results.md)
    ("false", False, False),
    ("true", True, True),
])
def test_the_stem_bias_by_default_only_unconditional(tiny_spec, stem_bias, conditional, expected):
    spec = tiny_spec("sagan_cond_mnist.yaml" if conditional else "sagan_mnist.yaml", **{"model.generator.stem_bias": stem_bias})
    G = build_generator(spec, registry=default_registry(), image_shape=MNIST_SHAPE)
    assert ("stem.0.bias" in G.state_dict()) == expected
