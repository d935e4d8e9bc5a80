"""Class-conditioning plumbing: layers that read the class labels, and containers that pass them on.

A class-conditional network takes ``(x, labels)``: ``labels`` is a (batch,) integer tensor of
classes. Inside it, only some layers need the labels (conditional BatchNorm in G, the
projection head in D); they subclass :class:`ClassConditional`, and a
:class:`LabelledSequential` hands the labels to exactly those, calling every other layer
with ``x`` alone. An unconditional network never sees labels, so plugin families with a
plain ``forward(x)`` keep working: callers go through :func:`call`.
"""

from __future__ import annotations

import torch
from torch import nn


class ClassConditional(nn.Module):
    """Base of layers whose forward is ``forward(x, labels)``: the mark :class:`LabelledSequential` looks for."""


class LabelledSequential(nn.Sequential, ClassConditional):
    """``nn.Sequential`` that passes ``labels`` on to its :class:`ClassConditional` layers.

    Without labels, or without such layers, it computes exactly what ``nn.Sequential`` does
    (same modules, same order, same state-dict keys).
    """

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self:
            x = layer(x, labels) if isinstance(layer, ClassConditional) else layer(x)
        return x


def call(network: nn.Module, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """``network(x)`` when ``labels`` is None, else ``network(x, labels)``.

    The one way ganparts calls a generator or discriminator: an unconditional network (a
    plugin's included) is never handed a labels argument it may not accept.
    """
    return network(x) if labels is None else network(x, labels)


class WithLabels(nn.Module):
    """``network`` with its labels fixed: ``WithLabels(D, labels)(x) == D(x, labels)``.

    Gradient penalties call ``discriminator(images)``; a conditional D reaches them in this
    form, so every penalty (a plugin's included) scores images against their own classes.
    """

    def __init__(self, network: nn.Module, labels: torch.Tensor) -> None:
        super().__init__()
        self.network = network
        self.labels = labels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[0] == self.labels.shape[0], f"{x.shape[0]} images for {self.labels.shape[0]} labels"
        return self.network(x, self.labels)


def with_labels(network: nn.Module, labels: torch.Tensor | None) -> nn.Module:
    """``network`` itself when ``labels`` is None, else :class:`WithLabels`."""
    return network if labels is None else WithLabels(network, labels)


def class_cycle(n: int, num_classes: int, *, device: torch.device | str = "cpu") -> torch.Tensor:
    """Labels 0, 1, …, num_classes − 1, 0, 1, … (n of them): every class equally often, no randomness.

    What a conditional generator is given when no class is asked for: sample grids, metrics.
    """
    return torch.arange(n, device=device) % num_classes


def check_labels(num_classes: int, batch: int, labels: torch.Tensor | None) -> None:
    """Raise ``ValueError`` unless ``labels`` suit a network over ``num_classes`` classes (0:
    unconditional, no labels) and a batch of ``batch``. Shapes only: no look at the values,
    so no host sync."""
    if not num_classes:
        if labels is not None:
            raise ValueError("this network is unconditional (model.num_classes: 0): it takes no labels")
    elif labels is None:
        raise ValueError(f"this network is conditioned on {num_classes} classes: it needs labels")
    elif labels.shape != (batch,) or labels.dtype.is_floating_point:
        raise ValueError(f"expected {batch} integer labels, got {tuple(labels.shape)} of {labels.dtype}")
