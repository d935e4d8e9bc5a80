"""The projection discriminator's head (Miyato & Koyama 2018, arXiv:1802.05637).

A class-conditional D scores an image for the class it is shown with:
``logit = linear(h) + <embed(y), h>``, where ``h`` is the feature vector the linear layer
reads. The inner product asks "do these features look like class y?", the linear term "do
they look real at all?"; compared with feeding y in as an input, it is what made
conditional GANs train on many classes.
"""

from __future__ import annotations

import torch
from torch import nn

from ganparts.blocks.conditional import ClassConditional
from ganparts.blocks.norm import maybe_spectral_norm


class ProjectionHead(ClassConditional):
    """(b, …) features → (b,) logits, plus the projection onto the class embedding.

    Args:
        features: size of ``h`` (the flattened input).
        num_classes: rows of the class embedding.
        spectral_norm: normalise the linear layer and the embedding (as SNGAN's projection D does).
    """

    def __init__(self, *, features: int, num_classes: int, spectral_norm: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features)
        # nn.Embedding's N(0, 1) start would make <embed(y), h> dwarf the linear term over
        # thousands of features; Glorot-uniform for both (the official code's choice) keeps them alike.
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        nn.init.xavier_uniform_(self.embed.weight)
        maybe_spectral_norm(self, spectral_norm)
        maybe_spectral_norm(self.embed, spectral_norm, layers=(nn.Embedding,))

    def forward(self, h: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            raise ValueError("the projection discriminator scores an image for a class: it needs the labels")
        h = h.flatten(1)
        return self.linear(h).flatten(0) + (self.embed(labels) * h).sum(1)
