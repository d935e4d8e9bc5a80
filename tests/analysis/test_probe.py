import torch

from ganparts.analysis.inference import TrainedGAN, generate
from ganparts.models import build_discriminator, build_generator
from ganparts.analysis.probe import probe_attention
from ganparts.plugins import default_registry
from tests.conftest import MNIST_SHAPE


def untrained(spec) -> TrainedGAN:
    torch.manual_seed(0)
    registry = default_registry()
    generator = build_generator(spec, registry=registry, image_shape=MNIST_SHAPE).eval()
    discriminator = build_discriminator(spec, registry=registry, image_shape=MNIST_SHAPE).eval()
    return TrainedGAN(spec, generator, discriminator, 0, None, registry)


def test_generator_probe_shows_the_digit_it_draws(tiny_spec):
    gan = untrained(tiny_spec(**{"model.generator.attention": "[{kind: sagan, resolution: 14}, {kind: sagan_pooled, resolution: 7}]"}))
    probe = probe_attention(gan, "G", seed=5)
    assert list(probe.layers) == ["attn7", "attn14"]  # forward order
    assert torch.allclose(probe.image, generate(gan.generator, 1, seed=5)[0, 0].add(1).div(2))
    weights = probe.query("attn7", (27, 0))
    assert weights.shape == (28, 28) and (weights >= 0).all()
    # attn7 keys are 2×2-pooled (4×4 grid): each key covers a 7×7 patch, the weights sum to 49
    assert torch.isclose(weights.sum(), torch.tensor(49.0), rtol=1e-4)
    picture = probe.overlay("attn14", (3, 3))
    assert picture.shape == (28, 28, 3) and 0 <= picture.min() and picture.max() <= 1


def test_discriminator_probe_reads_the_image_given(tiny_spec, mnist5k):
    gan = untrained(tiny_spec())
    digit = mnist5k.to_float()[0][7]
    probe = probe_attention(gan, "D", image=digit)
    assert torch.allclose(probe.image, digit[0].add(1).div(2))
    assert probe.heads("attn14") == 1
    assert torch.isclose(probe.query("attn14", (10, 10)).sum(), torch.tensor(4.0), rtol=1e-4)  # 14×14 keys, 2×2 patches


def test_maps_are_kept_per_probe(tiny_spec):
    gan = untrained(tiny_spec())
    first, second = probe_attention(gan, "G", seed=1), probe_attention(gan, "G", seed=2)
    assert not torch.equal(first.query("attn14", (5, 5)), second.query("attn14", (5, 5)))


def test_a_conditional_probe_draws_and_judges_the_class_given(tiny_spec):
    gan = untrained(tiny_spec("sagan_cond_mnist.yaml"))
    with torch.no_grad():
        for name, p in gan.generator.named_parameters():
            if ".bias.weight" in name:  # make the classes differ, as training does
                p.normal_()
    probe = probe_attention(gan, "G", seed=5, label=3)
    assert torch.allclose(probe.image, generate(gan.generator, 1, seed=5, labels=3)[0, 0].add(1).div(2))
    assert not torch.allclose(probe.image, probe_attention(gan, "G", seed=5, label=4).image)
    assert list(probe_attention(gan, "D", seed=5, label=3).layers) == ["attn14"]
