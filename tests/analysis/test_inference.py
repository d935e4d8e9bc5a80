import pytest
import torch

from ganparts.analysis.inference import class_labels, class_rows, generate, interpolate, latents
from ganparts.models import build_generator
from ganparts.plugins import default_registry
from tests.conftest import MNIST_SHAPE


def test_interpolation_runs_from_one_seed_to_the_other(tiny_spec):
    generator = build_generator(tiny_spec(), registry=default_registry(), image_shape=MNIST_SHAPE).eval()
    walk = interpolate(generator, 3, 8, 5)
    assert walk.shape == (5, 1, 28, 28)
    assert torch.allclose(walk[0], generate(generator, 1, seed=3)[0], atol=1e-5)
    assert torch.allclose(walk[-1], generate(generator, 1, seed=8)[0], atol=1e-5)
    assert torch.allclose(interpolate(generator, 4, 4, 3), generate(generator, 1, seed=4).expand(3, -1, -1, -1), atol=1e-5)


def conditional_generator(tiny_spec):
    torch.manual_seed(0)
    generator = build_generator(tiny_spec("sagan_cond_mnist.yaml"), registry=default_registry(), image_shape=MNIST_SHAPE).eval()
    with torch.no_grad():  # per-class gains and biases start equal; make the classes differ
        for name, p in generator.named_parameters():
            if ".bias.weight" in name:
                p.normal_()
    return generator


def test_generating_a_chosen_class(tiny_spec):
    generator = conditional_generator(tiny_spec)
    sevens = generate(generator, 4, seed=2, labels=7)
    assert torch.equal(sevens, generator(latents(generator.z_dim, 4, seed=2), torch.full((4,), 7)))
    assert not torch.allclose(sevens, generate(generator, 4, seed=2, labels=3))
    mixed = generate(generator, 4, seed=2, labels=torch.tensor([7, 3, 7, 3]), batch_size=3)
    torch.testing.assert_close(mixed[::2], sevens[::2])
    assert class_labels(generator, 12).tolist() == [*range(10), 0, 1]  # no class asked for: every class in turn
    assert torch.allclose(interpolate(generator, 3, 8, 3, label=7)[0], generate(generator, 1, seed=3, labels=7)[0], atol=1e-5)


def test_class_rows_show_one_style_per_column(tiny_spec):
    generator = conditional_generator(tiny_spec)
    images, labels = class_rows(generator, 3, seed=5)
    assert images.shape == (30, *MNIST_SHAPE) and labels.tolist() == [c for c in range(10) for _ in range(3)]
    torch.testing.assert_close(images[3 * 4 : 3 * 5], generate(generator, 3, seed=5, labels=4))  # row 4: the seed's latents as fours


def test_labels_that_do_not_fit_the_generator_are_refused(tiny_spec):
    conditional = conditional_generator(tiny_spec)
    with pytest.raises(ValueError, match=r"draws classes 0 to 9; asked for \[12\]"):
        generate(conditional, 2, labels=12)
    with pytest.raises(ValueError, match="expected one class or 2 labels"):
        generate(conditional, 2, labels=torch.tensor([1, 2, 3]))
    unconditional = build_generator(tiny_spec(), registry=default_registry(), image_shape=MNIST_SHAPE).eval()
    with pytest.raises(ValueError, match="unconditional"):
        generate(unconditional, 2, labels=1)
    with pytest.raises(ValueError, match="unconditional"):
        class_rows(unconditional, 2)
