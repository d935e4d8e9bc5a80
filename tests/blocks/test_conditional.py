"""Passing class labels through networks: only the layers that read them get them."""

import pytest
import torch
from torch import nn

from ganparts.blocks.conditional import ClassConditional, LabelledSequential, call, check_labels, class_cycle, with_labels


class AddLabel(ClassConditional):
    def forward(self, x, labels=None):
        return x + (0 if labels is None else labels[:, None].float())


def test_labelled_sequential_hands_labels_to_conditional_layers_only():
    net = LabelledSequential(nn.Linear(2, 2), AddLabel(), LabelledSequential(nn.ReLU(), AddLabel()))
    plain = nn.Sequential(*[net[0], nn.ReLU()])
    x, labels = torch.randn(3, 2), torch.tensor([0, 1, 2])
    torch.testing.assert_close(net(x, labels), torch.relu(net[0](x) + labels[:, None]) + labels[:, None])
    torch.testing.assert_close(net(x), plain(x))  # without labels: what nn.Sequential computes
    assert list(net.state_dict()) == ["0.weight", "0.bias"]


def test_call_passes_labels_only_when_there_are_some():
    unconditional = nn.Linear(2, 1)  # a forward that takes no labels at all
    x = torch.randn(3, 2)
    torch.testing.assert_close(call(unconditional, x), unconditional(x))
    assert with_labels(unconditional, None) is unconditional
    bound = with_labels(LabelledSequential(AddLabel()), torch.tensor([1, 2, 3]))
    torch.testing.assert_close(bound(x), x + torch.tensor([[1.0], [2.0], [3.0]]))


def test_label_checks_and_the_class_cycle():
    check_labels(0, 3, None)
    check_labels(10, 3, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="unconditional"):
        check_labels(0, 3, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="conditioned on 10 classes: it needs labels"):
        check_labels(10, 3, None)
    with pytest.raises(ValueError, match="expected 3 integer labels"):
        check_labels(10, 3, torch.tensor([1, 2]))
    assert class_cycle(7, 3).tolist() == [0, 1, 2, 0, 1, 2, 0]
