"""``sample``, ``attention`` and ``curves``: pictures and arrays from a trained run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganparts.analysis import pictures as viz
from ganparts.data.sources import load_images
from ganparts.errors import UserError
from ganparts.analysis.inference import TrainedGAN, class_labels, class_rows, generate, latents, load_trained
from ganparts.runs.atomic import atomic_path
from ganparts.runs.layout import RunDir
from ganparts.cli import resolve_device
from ganparts.plugins import default_registry


def add_commands(commands) -> None:
    p = commands.add_parser("sample", help="generate images from a run's EMA generator (.npz array or .png grid)")
    p.add_argument("run", type=Path, help="run directory (newest checkpoint) or a checkpoint directory")
    p.add_argument("--n", type=int, default=None, help="number of images (default 64); with --class all, images per class (default 10)")
    p.add_argument("--out", type=Path, required=True, help="output .npz (uint8 images N×H×W, and labels for a conditional run) or .png (grid)")
    p.add_argument("--seed", type=int, default=0, help="latent noise seed")
    p.add_argument(
        "--class", dest="label", metavar="N|all",
        help="class-conditional runs: draw class N, or 'all': one row per class with the same latents in each column "
        "(default: every class in turn)",
    )
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=sample)

    p = commands.add_parser("attention", help="picture where chosen pixels attend, per attention layer")
    p.add_argument("run", type=Path, help="run directory or checkpoint directory")
    p.add_argument("--out", type=Path, required=True, help="output .png")
    p.add_argument("--network", choices=("G", "D"), default="G", help="generator (on generated digits) or discriminator (on real digits)")
    p.add_argument("--n", type=int, default=3, help="number of images (rows per layer)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--query", action="append", default=None, metavar="X,Y", help="query pixel (repeatable); default: three spread pixels")
    p.add_argument(
        "--class", dest="label", metavar="N",
        help="class-conditional runs: G draws class N; D reads real digits of class N (default: G every class in turn, D each digit with its own class)",
    )
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
    if args.n is not None and args.n <= 0:
        raise UserError(f"--n {args.n}: must be positive")
    device = resolve_device(args.device)
    gan = load_trained(args.run, device=device, registry=default_registry())
    label = _parse_class(args.label, gan, args.run, allow_all=True)
    nrow = None  # a square grid
    if label == "all":
        nrow = args.n or 10
        images, labels = class_rows(gan.generator, nrow, seed=args.seed, device=device)
    else:
        n = args.n or 64
        images = generate(gan.generator, n, seed=args.seed, labels=label, device=device)
        labels = class_labels(gan.generator, n, label)
        if label is None and gan.num_classes:  # every class in turn: one column per class
            nrow = min(gan.num_classes, n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        viz.save_grid(images, args.out, nrow=nrow)
    else:
        pixels = ((images.cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)[:, 0].numpy()
        arrays = {"images": pixels, "step": np.array(gan.step)} | ({} if labels is None else {"labels": labels.numpy()})
        with atomic_path(args.out) as tmp:
            np.savez_compressed(tmp, **arrays)
    what = "" if label is None else (" of every class" if label == "all" else f" of class {label}")
    print(f"ganparts: {len(images)} images{what} from {gan.checkpoint} (step {gan.step}) → {args.out}")
    return 0


def _parse_class(text: str | None, gan: TrainedGAN, run: Path, *, allow_all: bool = False) -> int | str | None:
    """``--class``: None, a class number the run draws, or ``"all"``; a UserError otherwise."""
    if text is None:
        return None
    if not gan.num_classes:
        raise UserError(
            f"--class {text}: {run} is unconditional (model.num_classes: 0); only a class-conditional run "
            "(e.g. one trained from specs/sagan_cond_mnist.yaml) draws a chosen class"
        )
    if allow_all and text == "all":
        return "all"
    try:
        label = int(text)
    except ValueError:
        raise UserError(f"--class {text!r}: expected a class number{' or all' if allow_all else ''}") from None
    if not 0 <= label < gan.num_classes:
        raise UserError(f"--class {label}: {run} draws classes 0 to {gan.num_classes - 1} (model.num_classes: {gan.num_classes})")
    return label


def attention(args) -> int:
    device = resolve_device(args.device)
    gan = load_trained(args.run, device=device, registry=default_registry())
    label = _parse_class(args.label, gan, args.run)
    height, width = gan.generator.image_shape[1:]
    queries = [_parse_query(q, width, height) for q in args.query] if args.query else None
    if args.network == "G":
        net, inputs = gan.generator, latents(gan.spec.model.z_dim, args.n, seed=args.seed).to(device)
        labels = class_labels(gan.generator, args.n, label)
    else:
        real = load_images(gan.spec.data.source, registry=default_registry(), split="test", root=gan.spec.data.root, download=gan.spec.data.download)
        images, labels = real.to_float(device)
        if label is not None:  # real digits of the class asked for
            images, labels = images[labels == label], labels[labels == label]
        net, inputs, labels = gan.discriminator, images[: args.n], labels[: args.n] if gan.num_classes else None
    output, maps = viz.attention_maps(net, inputs, None if labels is None else labels.to(device))
    if not maps:
        raise UserError(f"the {'generator' if args.network == 'G' else 'discriminator'} of {args.run} has no attention layers")
    images = output if args.network == "G" else inputs
    viz.save_attention_figure(images, maps, args.out, queries=queries, title=f"{args.network} attention, step {gan.step}" + ("" if label is None else f", class {label}"))
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
