"""Sample grids during training: the EMA generator on the fixed noise, and its attention maps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ganparts.analysis import pictures
from ganparts.blocks.attention import attention_blocks
from ganparts.training.callbacks import Callback

if TYPE_CHECKING:
    from ganparts.training.trainer import Trainer


class SampleGrids(Callback):
    """Every ``train.sample_every`` steps and at the last step, on rank 0 of a run with a
    directory: ``samples/step_N.png`` and, for generators with attention, ``attention/step_N.png``."""

    def on_step_end(self, trainer: Trainer) -> None:
        every = trainer.spec.train.sample_every
        due = trainer.step == trainer.spec.train.steps or (every > 0 and trainer.step % every == 0)
        if due and trainer.run and trainer.ranks.is_main:
            self.write(trainer)

    def write(self, trainer: Trainer) -> Path:
        name = f"step_{trainer.step:08d}.png"
        shadow = trainer.ema.shadow
        with torch.no_grad():
            pictures.save_grid(shadow(trainer.fixed_noise), trainer.run.samples / name)
        if attention_blocks(shadow):
            pictures.save_generator_attention(shadow, trainer.fixed_noise[:4], trainer.run.attention / name)
        return trainer.run.samples / name
