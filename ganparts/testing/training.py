"""Training a registered block for a few steps through the real Trainer, at tiny width.

:func:`train_tiny` is what the ``train_block`` pytest fixture (and ``plugins --check``) run:
the ``Trainer.fit`` of ``ganparts train``, so a block that breaks training — not only a forward
pass — fails here. It trains on random images of the data source's shape: a block's contract
does not depend on digits, and reading the offline digits takes seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganparts.data.images import ImageSet, image_shape, num_classes
from ganparts.spec.experiment import Experiment
from ganparts.spec.registry import Registry
from ganparts.testing.build import BlockLike, block_data, narrowest, registry_or_default
from ganparts.training.callbacks import Callback
from ganparts.training.trainer import Trainer


@dataclass
class TrainedBlock:
    """What :func:`train_tiny` trained: the trainer (networks, step) and ``metrics.jsonl``'s rows."""

    spec: Experiment
    trainer: Trainer
    rows: list[dict[str, Any]]


def placed(kind: str, block: BlockLike, registry: Registry, *, family: str = "dcgan") -> dict[str, Any]:
    """``tiny_experiment`` arguments that put ``block`` where a ``kind`` block goes: attention at
    every resolution of both networks, a norm in both, the loss, one penalty, one augmentation,
    or a family as both networks (or the one it registers)."""
    data = block_data(block)
    if kind == "attention":
        sides = {k: registry.get(k, family).spec.resolutions for k in ("generator", "discriminator")}
        return {k: {"attention": [data | {"resolution": r} for r in rs]} for k, rs in sides.items()} | {"family": family}
    if kind == "norm":
        return {"generator": {"norm": data}, "discriminator": {"norm": data}, "family": family}
    if kind == "loss":
        return {"loss": data, "family": family}
    if kind == "penalty":
        return {"penalties": [data], "family": family}
    if kind == "augment":
        return {"augment": [{"p": 1.0} | data], "family": family}
    if kind in ("generator", "discriminator"):
        name = data.get("kind", "")
        return {k: data for k in ("generator", "discriminator") if name in registry.list(k)}
    raise ValueError(f"train_tiny places attention, norm, loss, penalty, augment, generator and discriminator blocks, not {kind!r}")


def train_tiny(
    kind: str,
    block: BlockLike,
    *,
    steps: int = 3,
    registry: Registry | None = None,
    family: str = "dcgan",
    run_dir: str | Path | None = None,
) -> TrainedBlock:
    """Train ``block`` (a registered ``kind`` block) ``steps`` steps at width 8, batch 4.

    Asserts that every logged loss is finite and that both networks' weights moved.

    Args:
        block: its name, or its spec as data (``{"kind": "axial", "heads": 2}``).
        registry: default: the process-wide one (every installed plugin).
        family: the networks an attention, norm, loss, penalty or augment block trains in.
        run_dir: a run directory to write (checkpoint, metrics, samples); None trains in memory.
    """
    registry = registry_or_default(registry)
    spec, _, _ = narrowest(
        registry, train={"steps": steps, "log_every": 1, "sample_every": 0, "checkpoint_every": 0, "grid_size": 4},
        **placed(kind, block, registry, family=family),
    )
    rows = _Rows()
    trainer = Trainer(spec, registry=registry, run_dir=run_dir, data=random_images(spec.data.source, registry), callbacks=[rows])
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in _networks(trainer)}
    trainer.fit()
    what = f"training {kind} {block_data(block).get('kind')!r}"
    bad = [f"{key} = {value} at step {row['step']}" for row in rows for key, value in row.items() if isinstance(value, float) and not math.isfinite(value)]
    assert not bad, f"{what} gave non-finite values: {', '.join(bad[:3])}"
    for name, net in _networks(trainer):
        assert any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters())), f"{what}: no weight of the {name} changed in {steps} steps"
    return TrainedBlock(spec, trainer, list(rows))


class _Rows(Callback, list):
    """Keeps every logged row, with or without a run directory."""

    def on_log(self, trainer: Trainer, rows: list[dict[str, Any]]) -> None:
        self.extend(rows)


def _networks(trainer: Trainer) -> list[tuple[str, torch.nn.Module]]:
    return [("generator", trainer.generator), ("discriminator", trainer.discriminator)]


def random_images(source: str, registry: Registry, n: int = 64) -> ImageSet:
    """``n`` random images of ``source``'s shape, with labels of its classes (0 … 9 if it has none)."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, *image_shape(source, registry)), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, num_classes(source, registry) or 10, (n,), generator=generator)
    return ImageSet(images, labels, source)
