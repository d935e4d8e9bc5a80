"""``train.cuda_graph``: each training step replayed as one captured CUDA graph.

A step of these small networks is hundreds of small kernels, so on a GPU the host's launches,
not the arithmetic, set its time. :class:`CapturedStep` runs the first :data:`WARMUP_STEPS`
steps eagerly (on a side stream, as CUDA graph capture wants: Adam's state, cuBLAS's
workspaces and autograd's streams exist before capture), then captures one whole step — the
batch and noise draws, the D update(s), the G update, spectral norm's power iterations, both
Adam updates, the logged losses and gammas — and from then on replays it, one launch per step.

What makes that possible, and the rules it imposes (docs/performance.md, "CUDA graphs"):

- Random numbers come from the default CUDA generator, which is graph-safe: each replay draws
  fresh batches and noise, the same ones the eager loop would draw.
- Shapes, learning rates and everything a step reads from the host are fixed at capture: the
  batch size, ``d_steps``, the networks and the optimisers cannot change mid-run (a resumed
  run warms up and captures again, so a resume may turn the option on or off).
- Nothing in the step may read a tensor on the host (the loop already reads nothing between
  log flushes), so ``on_nonfinite: skip`` and fp16's loss scaling are refused, and so are
  gradient penalties (their double backward is not captured here) and ``train.compile``
  (choose one), as is a run under torchrun.
- The EMA update and ADA's strength adjustment depend on the host's step counter (the EMA's
  warm-up decay, ADA's interval), so they run eagerly after each replay: a few launches.
- The graph's outputs are overwritten by the next replay, so each step's logs are copied out
  (one launch for all of them) before the next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from ganparts.training.trainer import Trainer

WARMUP_STEPS = 3  # eager steps before capture; they train like any other step


class CapturedStep:
    """The trainer's step as a CUDA graph: ``captured()`` trains one step and returns its logs,
    as ``trainer.train_step(*trainer.sample_batch()) | trainer.gammas()`` would."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.warmup_left = WARMUP_STEPS
        self.graph: torch.cuda.CUDAGraph | None = None
        self.keys: list[str] = []
        self.outputs: torch.Tensor | None = None  # the graph's logs, one value per key, overwritten by each replay

    def __call__(self) -> dict[str, torch.Tensor]:
        trainer = self.trainer
        if self.graph is None and self.warmup_left:
            self.warmup_left -= 1
            return self._warmup_step()
        if self.graph is None:
            self._capture()
        self.graph.replay()
        values = self.outputs.clone()  # one copy, before the next replay overwrites them
        trainer.after_updates()
        return dict(zip(self.keys, values.unbind())) | trainer.augment_logs()

    def _warmup_step(self) -> dict[str, torch.Tensor]:
        trainer = self.trainer
        side = torch.cuda.Stream(trainer.device)
        side.wait_stream(torch.cuda.current_stream(trainer.device))
        with torch.cuda.stream(side):
            logs = trainer.train_step(*trainer.sample_batch()) | trainer.gammas()
        torch.cuda.current_stream(trainer.device).wait_stream(side)
        return logs

    def _capture(self) -> None:
        trainer = self.trainer
        for optimizer in (trainer.opt_d, trainer.opt_g):  # gradients are allocated anew in the graph's memory pool
            optimizer.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            logs = trainer.updates(*trainer.sample_batch()) | trainer.gammas()
            self.keys = list(logs)
            self.outputs = torch.stack([value.float() for value in logs.values()])
        self.graph = graph
