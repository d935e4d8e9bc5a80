"""FID, KID, IS and precision/recall on real digits, noise, blur and a single repeated digit."""

import numpy as np
import pytest
import scipy.linalg
import torch
from torchvision.transforms.functional import gaussian_blur

from ganparts.data.sources import load_images
from ganparts.metrics.evaluate import FeatureSet, featurise_images, real_reference
from ganparts.metrics.fid import frechet_distance
from ganparts.metrics.inception_score import inception_score
from ganparts.metrics.kid import kernel_distance
from ganparts.metrics.precision_recall import knn_radii, precision_recall
from ganparts.plugins import default_registry


@pytest.fixture(scope="module")
def reference(mnist_cnn_5k):
    return real_reference(mnist_cnn_5k, "mnist-5k", progress=False, registry=default_registry())


def features_of(extractor, images: torch.Tensor) -> FeatureSet:
    with torch.no_grad():
        f, y = extractor.features_and_logits(images)
    return FeatureSet(f.double(), y.double())


@pytest.fixture(scope="module")
def impostors(mnist_cnn_5k):
    """Feature sets of 1,000 images each that are not MNIST-like in different ways."""
    rng = torch.Generator().manual_seed(0)
    real = load_images("mnist-5k", split="test", registry=default_registry()).to_float()[0]
    return {
        "noise": features_of(mnist_cnn_5k, torch.rand(1000, 1, 28, 28, generator=rng) * 2 - 1),
        "repeated": features_of(mnist_cnn_5k, real[:1].expand(1000, -1, -1, -1)),
        "blurred": features_of(mnist_cnn_5k, gaussian_blur(real, kernel_size=9, sigma=3.0)),
    }


def test_fid_of_held_out_real_digits_is_small_and_far_below_impostors(reference, impostors):
    floor = reference.floor["fid"]
    assert 0 < floor < 25  # in mnist_cnn feature units; 1,000 held-out digits carry some small-sample bias
    for name, fake in impostors.items():
        assert frechet_distance(reference.train.features, fake.features) > 20 * floor, name


def test_fid_matches_the_closed_form_in_float64():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 8)), rng.normal(loc=0.3, scale=1.2, size=(400, 8))
    mu_a, mu_b, cov_a, cov_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * scipy.linalg.sqrtm(cov_a @ cov_b).real)
    assert frechet_distance(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(expected, rel=1e-8)


def test_kid_of_identical_sets_is_about_zero(reference, impostors):
    same, _ = kernel_distance(reference.train.features, reference.train.features)
    noise, _ = kernel_distance(reference.train.features, impostors["noise"].features)
    # Independent subsets of one set share points, which biases the estimate slightly below 0.
    assert abs(same) < 0.005 * noise


def test_kid_is_seeded(reference, impostors):
    a = kernel_distance(reference.train.features, impostors["blurred"].features, seed=1)
    assert kernel_distance(reference.train.features, impostors["blurred"].features, seed=1) == a


@pytest.mark.parametrize("n_real, n_fake, subset_size", [(300, 200, 100), (40, 60, 50), (300, 200, 20)])
def test_kid_is_torchmetrics_estimate_on_the_same_subsets(n_real, n_fake, subset_size):
    """Kernels computed whole (first case) or per subset (the others): torchmetrics' numbers either way."""
    import warnings

    from torchmetrics.image.kid import KernelInceptionDistance

    from ganparts.metrics.precomputed import PrecomputedFeatures

    rng = torch.Generator().manual_seed(0)
    real, fake = torch.rand(n_real, 16, generator=rng), torch.rand(n_fake, 16, generator=rng) + 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=PrecomputedFeatures(16), subsets=30, subset_size=min(subset_size, n_real, n_fake))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    torch.manual_seed(5)
    expected = [value.item() for value in metric.compute()]
    assert kernel_distance(real, fake, subsets=30, subset_size=subset_size, seed=5) == pytest.approx(expected, rel=1e-10, abs=1e-15)


def test_inception_score_of_real_digits_beats_blur_noise_and_one_digit(reference, impostors):
    real, _ = inception_score(reference.held_out.logits)
    assert real > 9  # ten balanced, confidently classified digits: close to the maximum of 10
    for name, fake in impostors.items():
        assert inception_score(fake.logits)[0] < real - 2, name


def test_precision_recall_tell_fidelity_from_coverage(reference, impostors):
    real = reference.train.features
    assert precision_recall(real, real) == (1.0, 1.0)
    precision, recall = precision_recall(real, impostors["noise"].features)
    assert precision < 0.05
    precision, recall = precision_recall(real, impostors["repeated"].features)
    assert precision == 1.0 and recall < 0.05  # a real digit repeated: realistic, no variety
    precision, recall = reference.floor["precision"], reference.floor["recall"]
    assert precision > 0.6 and recall > 0.6


def test_knn_radii_match_brute_force_in_any_chunking():
    points = torch.randn(50, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = torch.cdist(points, points).sort(dim=1).values[:, 3]
    for chunk in (7, 50, 64):
        torch.testing.assert_close(knn_radii(points, k=3, chunk=chunk), expected)


def test_featurising_is_independent_of_batch_size(mnist_cnn_5k):
    data = load_images("mnist-5k", split="test", registry=default_registry())
    a = featurise_images(mnist_cnn_5k, data, batch_size=1000, progress=False)
    b = featurise_images(mnist_cnn_5k, data, batch_size=333, progress=False)
    torch.testing.assert_close(a.features, b.features, rtol=1e-5, atol=1e-4)  # float32 convs: batch-size rounding only
