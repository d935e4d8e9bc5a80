import torch

from ganparts.analysis.inference import generate, interpolate
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
