"""Pictures: sample grids, attention-map overlays, training curves (PNG)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from einops import reduce
from torch import nn

from ganparts.blocks.attention import AttentionMap, AttentionRecording, record_attention
from ganparts.blocks.conditional import call
from ganparts.runs.atomic import atomic_path

QUERY_COLOURS = ("#ff3b30", "#34c759", "#0a84ff", "#ffcc00", "#af52de")


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] → [0, 1]."""
    return images.detach().float().add(1).div(2).clamp(0, 1).cpu()


def save_grid(images: torch.Tensor, path: str | Path, *, nrow: int | None = None) -> Path:
    """Save images in [-1, 1] (N, C, H, W) as one PNG grid, ``nrow`` per row (default: square)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nrow = nrow or max(1, round(images.shape[0] ** 0.5))
    from torchvision.utils import save_image  # here, not at the top: torchvision takes seconds to import

    with atomic_path(path) as tmp:  # the app may show the grid while it is being written
        save_image(to_unit(images), str(tmp), nrow=nrow, padding=2, pad_value=1.0)
    return path


def grid_image(images: torch.Tensor, *, nrow: int | None = None) -> torch.Tensor:
    """The grid as an (H, W, 3) float tensor in [0, 1], for displaying in the app."""
    from torchvision.utils import make_grid

    nrow = nrow or max(1, round(images.shape[0] ** 0.5))
    return make_grid(to_unit(images), nrow=nrow, padding=2, pad_value=1.0).permute(1, 2, 0)


def png_bytes(picture: torch.Tensor) -> bytes:
    """PNG file contents of an (H, W) or (H, W, 3) picture in [0, 1] (e.g. from :func:`grid_image`)."""
    import io

    from PIL import Image

    pixels = picture.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def attention_overlay(image: torch.Tensor, attention: torch.Tensor, *, alpha: float = 0.6, cmap: str = "inferno") -> torch.Tensor:
    """An (H, W) grey image in [0, 1] with an (H, W) attention map blended over it in colour.

    Blended like :func:`save_attention_figure`'s panels; the map is scaled to its own
    maximum, so a map spread thinly over the whole image shows as clearly as a peaked
    one. Returns (H, W, 3) in [0, 1].
    """
    from matplotlib import colormaps

    weights = attention.detach().float().cpu()
    weights = weights / weights.max().clamp_min(1e-12)
    heat = torch.from_numpy(colormaps[cmap](weights.numpy())[..., :3]).float()
    grey = image.detach().float().cpu().clamp(0, 1)[..., None].expand_as(heat)
    return torch.lerp(grey, heat, alpha)


def attention_maps(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, AttentionRecording]:
    """Run ``model`` once without gradients (given ``labels`` when it is class-conditional),
    recording every attention layer's map.

    Returns:
        the output, and ``{layer name: AttentionMap}`` owned by this call (safe while other
        threads run the same model).
    """
    with torch.no_grad(), record_attention(model) as maps:
        output = call(model, inputs, labels)
    return output, maps


def query_map(attention: AttentionMap, query_xy: tuple[int, int], image_side: int, *, head: int | None = None) -> torch.Tensor:
    """Where image pixel ``query_xy`` = (x, y) attends, as (batch, image_side, image_side) maps.

    The query is the layer's feature position under that pixel (a square query grid); the
    map over the layer's keys is scaled up to image size. ``head=None`` averages the heads.
    """
    attn = attention.map  # b h n m
    key_rows, _ = attention.key_grid
    query_side = round(attn.shape[2] ** 0.5)
    x, y = query_xy
    index = (y * query_side // image_side) * query_side + (x * query_side // image_side)
    weights = attn[:, :, index] if head is None else attn[:, head : head + 1, index]  # b h m
    weights = reduce(weights, "b h (rows cols) -> b 1 rows cols", "mean", rows=key_rows)
    return F.interpolate(weights, size=(image_side, image_side), mode="nearest")[:, 0]


def default_queries(image_side: int) -> list[tuple[int, int]]:
    """Three query pixels spread over the digit area."""
    return [(image_side // 2, image_side // 3), (image_side // 3, 2 * image_side // 3), (2 * image_side // 3, image_side // 2)]


def save_attention_figure(
    images: torch.Tensor,
    maps: Mapping[str, AttentionMap],
    path: str | Path,
    *,
    queries: Sequence[tuple[int, int]] | None = None,
    title: str = "",
) -> Path:
    """One row per (image, attention layer): the image with query pixels marked, then each
    query's attention map over the image. ``maps`` is ``{layer name: AttentionMap}``, e.g.
    from :func:`attention_maps`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    side = images.shape[-1]
    queries = list(queries or default_queries(side))
    pictures = to_unit(images)[:, 0].numpy()
    rows = [(i, name) for i in range(images.shape[0]) for name in maps]
    fig, axes = plt.subplots(len(rows), 1 + len(queries), figsize=(1.8 * (1 + len(queries)), 1.9 * len(rows)), squeeze=False)
    panels = {name: [query_map(attention, q, side) for q in queries] for name, attention in maps.items()}
    for r, (i, name) in enumerate(rows):
        ax = axes[r, 0]
        ax.imshow(pictures[i], cmap="gray", vmin=0, vmax=1)
        for q, colour in zip(queries, QUERY_COLOURS):
            ax.scatter([q[0]], [q[1]], s=40, c=colour, edgecolors="white", linewidths=0.8)
        ax.set_ylabel(name, fontsize=7)
        for c, (q, colour) in enumerate(zip(queries, QUERY_COLOURS), start=1):
            ax = axes[r, c]
            ax.imshow(pictures[i], cmap="gray", vmin=0, vmax=1)
            ax.imshow(panels[name][c - 1][i].cpu().numpy(), cmap="inferno", alpha=0.6)
            ax.scatter([q[0]], [q[1]], s=40, c=colour, edgecolors="white", linewidths=0.8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def save_generator_attention(
    generator: nn.Module, noise: torch.Tensor, path: str | Path, *, labels: torch.Tensor | None = None, **kwargs
) -> Path:
    """Generate from ``noise`` (and ``labels``, for a conditional G) and save where the generator's attention looks (one forward)."""
    images, maps = attention_maps(generator, noise, labels)
    return save_attention_figure(images, maps, path, **kwargs)


def save_curves(rows: list[dict], path: str | Path, *, smooth: int = 25) -> Path:
    """Loss curves (moving average over ``smooth`` steps) and attention gammas over steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = torch.tensor([r["step"] for r in rows], dtype=torch.float64)
    gamma_keys = sorted({k for r in rows for k in r if k.startswith("gamma/")})
    fig, axes = plt.subplots(1, 2 if gamma_keys else 1, figsize=(10 if gamma_keys else 5.5, 3.4), squeeze=False)
    for key in ("d_loss", "g_loss"):
        values = torch.tensor([r[key] for r in rows], dtype=torch.float64)
        axes[0, 0].plot(steps.numpy(), _moving_average(values, smooth).numpy(), label=key)
    axes[0, 0].set(xlabel="step", title="losses")
    axes[0, 0].legend()
    for key in gamma_keys:
        pairs = [(r["step"], r[key]) for r in rows if key in r]
        axes[0, 1].plot([p[0] for p in pairs], [p[1] for p in pairs], label=key.removeprefix("gamma/"))
    if gamma_keys:
        axes[0, 1].set(xlabel="step", title="attention gamma")
        axes[0, 1].legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def _moving_average(values: torch.Tensor, window: int) -> torch.Tensor:
    window = max(1, min(window, values.numel()))
    padded = torch.cat([values[:1].expand(window - 1), values])
    return padded.unfold(0, window, 1).mean(1)

