"""Sample grids during training: the EMA generator on the fixed noise, and its attention maps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ganparts.analysis import pictures
from ganparts.blocks.attention import attention_blocks
from ganparts.blocks.conditional import call
from ganparts.training.callbacks import Callback

if TYPE_CHECKING:
    from ganparts.training.trainer import Trainer


class SampleGrids(Callback):
    """Every ``train.sample_every`` steps and at the last step, on rank 0 of a run with a
    directory: ``samples/step_N.png`` and, for generators with attention, ``attention/step_N.png``.
    A class-conditional grid has one column per class (the fixed labels cycle through them)."""

    def on_step_end(self, trainer: Trainer) -> None:
        every = trainer.spec.train.sample_every
        due = trainer.step == trainer.spec.train.steps or (every > 0 and trainer.step % every == 0)
        if due and trainer.run and trainer.ranks.is_main:
            self.write(trainer)

    def write(self, trainer: Trainer) -> Path:
        name = f"step_{trainer.step:08d}.png"
        shadow, labels = trainer.ema.calibrated(), trainer.fixed_labels
        with torch.no_grad():
            images = call(shadow, trainer.fixed_noise, labels)
        pictures.save_grid(images, trainer.run.samples / name, nrow=min(trainer.num_classes, len(images)) or None)
        if attention_blocks(shadow):
            pictures.save_generator_attention(shadow, trainer.fixed_noise[:4], trainer.run.attention / name, labels=None if labels is None else labels[:4])
        return trainer.run.samples / name
