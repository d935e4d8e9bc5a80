"""Where a trained network attends: one image through G or D, every attention layer's map kept.

    probe = probe_attention(gan, "D", image=digit)       # or: probe_attention(gan, "G", seed=3)
    probe.query("attn14", (14, 10))                       # (28, 28): where pixel x=14, y=10 looks
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ganparts.analysis import pictures as viz
from ganparts.analysis.inference import TrainedGAN, class_labels, latents
from ganparts.blocks.attention import AttentionMap
from ganparts.blocks.conditional import call
from ganparts.data.images import ImageSet
from ganparts.data.sources import load_images

Network = Literal["G", "D"]


@dataclass
class AttentionProbe:
    """One image and the attention maps one forward pass of ``network`` made for it."""

    network: Network
    image: torch.Tensor  # (H, W) in [0, 1]: the digit G drew, or the digit D read
    layers: dict[str, AttentionMap]  # by layer name, in forward order

    @property
    def side(self) -> int:
        return self.image.shape[-1]

    def heads(self, layer: str) -> int:
        return self.layers[layer].heads

    def query(self, layer: str, xy: tuple[int, int], *, head: int | None = None) -> torch.Tensor:
        """(H, W): how much image pixel ``xy`` = (x, y) attends to each place in ``layer``
        (heads averaged when ``head`` is None); each key's weight fills the patch it covers."""
        return viz.query_map(self.layers[layer], xy, self.side, head=head)[0]

    def overlay(self, layer: str, xy: tuple[int, int], *, head: int | None = None) -> torch.Tensor:
        """(H, W, 3) picture: the image with ``xy``'s attention map over it."""
        return viz.attention_overlay(self.image, self.query(layer, xy, head=head))


def probe_attention(
    gan: TrainedGAN, network: Network, *, seed: int = 0, image: torch.Tensor | None = None, label: int | None = None
) -> AttentionProbe:
    """Run one image through ``gan``'s generator (``"G"``) or discriminator (``"D"``), keeping maps.

    Args:
        gan: a loaded run (see :func:`ganparts.analysis.inference.load_trained`).
        network: ``"G"`` draws a digit from latent ``seed``; ``"D"`` reads ``image`` or, when
            None, the digit G draws from ``seed``.
        image: (1, H, W) or (H, W) in [-1, 1], for D only (e.g. a real digit).
        label: for a class-conditional run, the class G draws and D judges the image as
            (default 0); must be None for an unconditional one.
    """
    device = next(gan.generator.parameters()).device
    z = latents(gan.spec.model.z_dim, 1, seed=seed).to(device)
    if network not in ("G", "D"):
        raise ValueError(f"network {network!r}: expected 'G' or 'D'")
    if label is None and gan.num_classes:
        label = 0
    y = class_labels(gan.generator, 1, label)
    y = None if y is None else y.to(device)
    # The maps go to a recording this call owns: other threads running the same cached
    # networks (the app's pages) can neither see nor overwrite them, so no lock is needed.
    if network == "G":
        picture, maps = viz.attention_maps(gan.generator, z, y)
    else:
        if image is None:
            with torch.no_grad():
                image = call(gan.generator, z, y)
        picture = image.reshape(1, 1, *image.shape[-2:]).float().to(device)
        _, maps = viz.attention_maps(gan.discriminator, picture, y)
    return AttentionProbe(network, viz.to_unit(picture)[0, 0], dict(maps))


def held_out_digits(gan: TrainedGAN) -> ImageSet:
    """Real digits the run did not train on (the test split of its data source, of its classes
    for a class-conditional run), offline."""
    digits = load_images(gan.spec.data.source, registry=gan.registry, split="test", root=gan.spec.data.root, download=False)
    return digits.first_classes(gan.num_classes) if gan.num_classes else digits
