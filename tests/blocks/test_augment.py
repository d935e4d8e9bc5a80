"""Augment blocks: differentiable, shape-keeping, the identity at probability 0, applied per image."""

import pytest
import torch

from ganparts.blocks.augment import Cutout, Translation, translate
from ganparts.plugins import default_registry

REGISTRY = default_registry()
OPTIONS = {"translation": {"shift": 2}, "cutout": {"size": 3}}


def block(name, p, **extra):
    return REGISTRY.create("augment", {"kind": name, "p": p, **(OPTIONS.get(name, {}) | extra)})


def seeded(module, seed=0, **kwargs):
    """``module`` with the same random draws on every call (gradcheck calls it many times)."""

    def run(images):
        torch.manual_seed(seed)
        return module(images, **kwargs)

    return run


@pytest.mark.parametrize("name", REGISTRY.list("augment"))
def test_every_augment_keeps_the_shape_and_changes_images_at_p_1(name):
    images = torch.rand(200, 2, 9, 7) + 1  # no zeros: a zero fill always shows
    torch.manual_seed(0)
    out = block(name, 1.0)(images)
    assert out.shape == images.shape and out.dtype == images.dtype
    # p = 1: every image augmented (a translation may draw the shift (0, 0), 1 time in 25).
    assert (out != images).flatten(1).any(1).float().mean() > 0.9


@pytest.mark.parametrize("name", REGISTRY.list("augment"))
@pytest.mark.parametrize("p, strength", [(0.0, 1.0), (1.0, 0.0), (1.0, torch.tensor(0.0)), (0.7, torch.tensor(0.0))])
def test_every_augment_is_the_identity_at_probability_0(name, p, strength):
    images = torch.randn(16, 1, 28, 28)
    assert torch.equal(block(name, p)(images, strength), images)


@pytest.mark.parametrize("name", REGISTRY.list("augment"))
def test_every_augment_is_differentiable(name):
    images = torch.randn(3, 1, 6, 5, dtype=torch.double, requires_grad=True)
    augment = seeded(block(name, 1.0, **({"shift": 1} if name == "translation" else {})))
    assert not torch.equal(augment(images), images)  # the check below is about a real augmentation
    assert torch.autograd.gradcheck(augment, (images,))


@pytest.mark.parametrize("name", REGISTRY.list("augment"))
def test_each_image_is_augmented_with_probability_p_times_strength(name):
    images = torch.rand(4000, 1, 8, 8) + 1
    torch.manual_seed(0)
    out = block(name, 0.5)(images, torch.tensor(0.6))
    changed = (out != images).flatten(1).any(1).float().mean().item()
    # Translation by 0 in both directions leaves an image unchanged: 1/25 of the chosen ones.
    expected = 0.3 * (24 / 25 if name == "translation" else 1)
    assert abs(changed - expected) < 0.03


def test_translation_shifts_whole_images_and_fills_the_rest():
    images = torch.arange(1, 26, dtype=torch.float).view(1, 1, 5, 5).repeat(2, 1, 1, 1)
    out = translate(images, torch.tensor([1, -2]), torch.tensor([0, 1]), limit=2, fill=-1.0)
    assert torch.equal(out[0, 0, 1:], images[0, 0, :-1]) and torch.equal(out[0, 0, 0], torch.full((5,), -1.0))
    assert torch.equal(out[1, 0, :3, 1:], images[1, 0, 2:, :-1])
    assert (out[1, 0, 3:] == -1).all() and (out[1, 0, :, 0] == -1).all()


def test_uncovered_pixels_are_the_black_background_by_default():
    images = torch.ones(64, 1, 6, 6)
    for augment in (Translation(p=1.0, shift=2), Cutout(p=1.0, size=3)):
        assert set(augment(images).unique().tolist()) == {-1.0, 1.0}


def test_translation_stays_within_its_shift():
    images = torch.zeros(500, 1, 15, 15)
    images[:, :, 7, 7] = 1  # one lit pixel in the middle: where it lands is the shift
    out = Translation(p=1.0, shift=3)(images)
    rows, cols = (out[:, 0] == 1).nonzero()[:, 1:].T
    assert len(rows) == 500  # nothing lost
    assert set((rows - 7).tolist()) == set(range(-3, 4)) == set((cols - 7).tolist())


def test_cutout_blanks_one_square_of_its_size():
    images = torch.ones(300, 1, 20, 20)
    out = Cutout(p=1.0, size=4, fill=0.0)(images)
    holes = out[:, 0] == 0
    assert (out[~holes[:, None]] == 1).all()
    rows, cols = holes.any(2), holes.any(1)
    assert (holes.sum((1, 2)) == rows.sum(1) * cols.sum(1)).all()  # a rectangle…
    assert rows.sum(1).max() == 4 and cols.sum(1).max() == 4  # …of the size inside the image, clipped at the border
    assert holes.sum((1, 2)).min() >= 4  # the centre is always inside: at least a 2×2 corner


def test_strength_may_live_on_the_device_as_a_tensor():
    strength = torch.tensor(1.0)
    out = Translation(p=1.0, shift=1)(torch.rand(8, 1, 5, 5) + 1, strength)
    assert out.shape == (8, 1, 5, 5)
