import pytest
import torch

from ganparts.data.images import ImageSet
from ganparts.data.sources import load_images
from ganparts.metrics.features import MnistCNN, accuracy, cache_path, load_cached, mnist_cnn, random_affine, train_mnist_cnn
from ganparts.plugins import default_registry
from tests.conftest import MNIST_SHAPE


def test_reaches_its_accuracy_bar_on_held_out_mnist5k(mnist_cnn_5k):
    assert accuracy(mnist_cnn_5k, load_images("mnist-5k", split="test", registry=default_registry())) >= 0.96


def test_is_registered_as_a_feature_kind(registry):
    assert "mnist_cnn" in registry.list("feature")


def test_a_second_load_reads_the_cache_instead_of_training(mnist_cnn_5k, monkeypatch):
    assert cache_path("mnist-5k").is_file()
    monkeypatch.setattr("ganparts.metrics.features.train_mnist_cnn", lambda *a, **k: pytest.fail("trained again"))
    again = mnist_cnn("mnist-5k", registry=default_registry())
    for key, value in mnist_cnn_5k.state_dict().items():
        torch.testing.assert_close(again.state_dict()[key], value, rtol=0, atol=0)


def test_training_is_deterministic_and_leaves_the_global_rng_alone(mnist5k):
    small = ImageSet(mnist5k.images[:256], mnist5k.labels[:256], mnist5k.source)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = train_mnist_cnn(small, steps=3, batch_size=16)
    assert torch.equal(torch.get_rng_state(), before)
    b = train_mnist_cnn(small, steps=3, batch_size=16)
    for key, value in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[key], value, rtol=0, atol=0)
    assert not torch.are_deterministic_algorithms_enabled()  # the setting is restored


def test_an_unreadable_cache_file_is_ignored(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"not a safetensors file")
    assert load_cached(path, "cpu", image_shape=MNIST_SHAPE) is None


def test_features_and_logits_shapes():
    features, logits = MnistCNN(image_shape=MNIST_SHAPE).features_and_logits(torch.zeros(5, 1, 28, 28))
    assert features.shape == (5, MnistCNN.num_features) and logits.shape == (5, 10)


def test_random_affine_moves_digits_and_fills_with_background(mnist5k):
    rng = torch.Generator().manual_seed(0)
    images = mnist5k.to_float()[0][:32]
    moved = random_affine(images, rng)
    assert moved.shape == images.shape and not torch.equal(moved, images)
    blank = random_affine(torch.full((4, 1, 28, 28), -1.0), rng)
    torch.testing.assert_close(blank, torch.full_like(blank, -1.0))  # what enters the frame is background, not grey


def test_a_process_that_finds_training_under_way_waits_and_reads_its_result(tmp_path, monkeypatch):
    """Jobs started cold together (compare --jobs K) train the network once: the others wait on the lock."""
    import threading

    from ganparts.metrics.features import save_weights, training_lock

    monkeypatch.setenv("GANPARTS_FEATURE_CACHE", str(tmp_path))
    monkeypatch.setattr("ganparts.metrics.features.train_mnist_cnn", lambda *a, **k: pytest.fail("trained a second time"))
    trained = MnistCNN(image_shape=MNIST_SHAPE)
    path, loaded = cache_path("mnist-5k"), []
    with training_lock(path):  # "another process" is training
        waiter = threading.Thread(target=lambda: loaded.append(mnist_cnn("mnist-5k", registry=default_registry())))
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive() and not loaded  # blocked on the lock, not training
        save_weights(trained, path, {"source": "mnist-5k", "version": "1"})
    waiter.join(timeout=60)
    assert len(loaded) == 1
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(loaded[0].state_dict()[key], value, rtol=0, atol=0)
