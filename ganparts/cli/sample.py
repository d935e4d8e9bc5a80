"""``sample``, ``attention`` and ``curves``: pictures and arrays from a trained run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganparts.analysis import pictures as viz
from ganparts.data.sources import load_images
from ganparts.errors import UserError
from ganparts.analysis.inference import generate, latents, load_trained
from ganparts.runs.atomic import atomic_path
from ganparts.runs.layout import RunDir
from ganparts.cli import resolve_device
from ganparts.plugins import default_registry


def add_commands(commands) -> None:
    p = commands.add_parser("sample", help="generate images from a run's EMA generator (.npz array or .png grid)")
    p.add_argument("run", type=Path, help="run directory (newest checkpoint) or a checkpoint directory")
    p.add_argument("--n", type=int, default=64, help="number of images")
    p.add_argument("--out", type=Path, required=True, help="output .npz (uint8 images, N×H×W) or .png (grid)")
    p.add_argument("--seed", type=int, default=0, help="latent noise seed")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=sample)

    p = commands.add_parser("attention", help="picture where chosen pixels attend, per attention layer")
    p.add_argument("run", type=Path, help="run directory or checkpoint directory")
    p.add_argument("--out", type=Path, required=True, help="output .png")
    p.add_argument("--network", choices=("G", "D"), default="G", help="generator (on generated digits) or discriminator (on real digits)")
    p.add_argument("--n", type=int, default=3, help="number of images (rows per layer)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--query", action="append", default=None, metavar="X,Y", help="query pixel (repeatable); default: three spread pixels")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=attention)

    p = commands.add_parser("curves", help="plot a run's losses and attention gammas")
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--out", type=Path, help="output .png (default: RUN/curves.png)")
    p.set_defaults(handler=curves, threads=1)


def sample(args) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in (".npz", ".png"):
        raise UserError(f"--out {args.out}: the suffix must be .npz or .png")
    if args.n <= 0:
        raise UserError(f"--n {args.n}: must be positive")
    device = resolve_device(args.device)
    gan = load_trained(args.run, device=device, registry=default_registry())
    images = generate(gan.generator, args.n, seed=args.seed, device=device)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        viz.save_grid(images, args.out)
    else:
        pixels = ((images.cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)[:, 0].numpy()
        with atomic_path(args.out) as tmp:
            np.savez_compressed(tmp, images=pixels, step=np.array(gan.step))
    print(f"ganparts: {args.n} images from {gan.checkpoint} (step {gan.step}) → {args.out}")
    return 0


def attention(args) -> int:
    device = resolve_device(args.device)
    gan = load_trained(args.run, device=device, registry=default_registry())
    height, width = gan.generator.image_shape[1:]
    queries = [_parse_query(q, width, height) for q in args.query] if args.query else None
    if args.network == "G":
        net, inputs = gan.generator, latents(gan.spec.model.z_dim, args.n, seed=args.seed).to(device)
    else:
        real = load_images(gan.spec.data.source, registry=default_registry(), split="test", root=gan.spec.data.root, download=gan.spec.data.download)
        net, inputs = gan.discriminator, real.to_float(device)[0][: args.n]
    output, maps = viz.attention_maps(net, inputs)
    if not maps:
        raise UserError(f"the {'generator' if args.network == 'G' else 'discriminator'} of {args.run} has no attention layers")
    images = output if args.network == "G" else inputs
    viz.save_attention_figure(images, maps, args.out, queries=queries, title=f"{args.network} attention, step {gan.step}")
    print(f"ganparts: attention maps of {len(maps)} layer(s) → {args.out}")
    return 0


def curves(args) -> int:
    rows = RunDir(args.run).read_metrics()
    if not rows:
        raise UserError(f"{args.run}: no metrics.jsonl rows yet")
    out = viz.save_curves(rows, args.out or args.run / "curves.png")
    print(f"ganparts: curves of {len(rows)} steps → {out}")
    return 0


def _parse_query(text: str, width: int, height: int) -> tuple[int, int]:
    try:
        x, y = (int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--query {text!r}: expected X,Y pixel coordinates, e.g. 14,10") from None
    if not (0 <= x < width and 0 <= y < height):
        raise UserError(f"--query {text!r}: x must lie in 0..{width - 1} and y in 0..{height - 1}")
    return x, y
