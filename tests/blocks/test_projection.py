"""The projection discriminator's head: a linear "real?" term plus the class projection."""

import pytest
import torch

from ganparts.blocks.projection import ProjectionHead


def test_the_logit_depends_on_the_label_through_the_projection_only():
    torch.manual_seed(0)
    head = ProjectionHead(features=12, num_classes=5, spectral_norm=False)
    h = torch.randn(4, 3, 2, 2)  # flattened to 12 features
    logits = {c: head(h, torch.full((4,), c)) for c in range(5)}
    assert logits[0].shape == (4,)
    assert not torch.allclose(logits[0], logits[1])  # another class, another score for the same image
    flat = h.flatten(1)
    for c, logit in logits.items():
        torch.testing.assert_close(logit, head.linear(flat)[:, 0] + flat @ head.embed.weight[c])
    mixed = head(h, torch.tensor([0, 1, 2, 3]))
    torch.testing.assert_close(mixed, torch.stack([logits[c][c] for c in range(4)]))  # each image its own class


def test_spectral_norm_reaches_the_embedding():
    head = ProjectionHead(features=12, num_classes=5, spectral_norm=True)
    assert hasattr(head.embed, "parametrizations") and hasattr(head.linear, "parametrizations")
    for _ in range(30):  # power iterations run on each training forward
        head(torch.randn(2, 12), torch.tensor([0, 1]))
    assert abs(torch.linalg.matrix_norm(head.embed.weight, ord=2).item() - 1) < 1e-3
    assert not any(hasattr(m, "parametrizations") for m in ProjectionHead(features=12, num_classes=5, spectral_norm=False).modules())


def test_a_projection_head_needs_labels():
    with pytest.raises(ValueError, match="needs the labels"):
        ProjectionHead(features=4, num_classes=2, spectral_norm=False)(torch.randn(2, 4))
