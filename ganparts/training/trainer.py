"""The Trainer: the training loop around one ``train_step`` contract.

What happens around the loop lives beside it: checkpoint (de)serialisation in
:mod:`~ganparts.training.state`, sample grids in :mod:`~ganparts.training.samples` (a
callback), progress in :mod:`~ganparts.training.callbacks`, the decision whether a spec can
train at all in :mod:`~ganparts.training.preflight`.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from ganparts.analysis.inference import latents
from ganparts.blocks.attention import attention_blocks
from ganparts.blocks.conditional import call, class_cycle, with_labels
from ganparts.blocks.losses import build_objective
from ganparts.data.images import ImageSet
from ganparts.errors import SpecError
from ganparts.data.sources import load_images
from ganparts.models import build_discriminator, build_generator
from ganparts.runs import checkpoints as ckpt
from ganparts.runs.layout import RunDir
from ganparts.spec.experiment import Experiment
from ganparts.spec.registry import Registry
from ganparts.training import acceleration, distributed, optim, state
from ganparts.training.augmentation import Augmentation
from ganparts.training.brightness import match_data_brightness
from ganparts.training.callbacks import Callback
from ganparts.training.cuda_graph import CapturedStep
from ganparts.training.distributed import SINGLE, Ranks
from ganparts.training.ema import EMA
from ganparts.training.nonfinite import NonFiniteGuard
from ganparts.training.samples import SampleGrids
from ganparts.training.schedule import LearningRates
from ganparts.training.scoring import batch_dependent, score


class Trainer:
    """Trains the GAN an :class:`~ganparts.spec.experiment.Experiment` describes.

    The spec must have passed :func:`~ganparts.training.preflight.preflight`; the Trainer
    decides nothing about it.

    Args:
        spec: the validated experiment.
        registry: the block registry the spec was validated against.
        run_dir: where spec, metrics, samples and checkpoints go; None trains in memory only.
        device: torch device for networks and data.
        data: training images; loaded from ``spec.data`` when omitted.
        callbacks: see :class:`~ganparts.training.callbacks.Callback`. With a ``run_dir``,
            a :class:`~ganparts.training.samples.SampleGrids` callback is added unless one is given.
        ranks: this process's place under torchrun (see ganparts.training.distributed); one process by default.
    """

    def __init__(
        self,
        spec: Experiment,
        *,
        registry: Registry,
        run_dir: str | Path | None = None,
        device: torch.device | str = "cpu",
        data: ImageSet | None = None,
        callbacks: Sequence[Callback] = (),
        ranks: Ranks = SINGLE,
    ) -> None:
        self.spec = spec
        self.registry = registry
        self.ranks = ranks
        self.batch_size = distributed.local_batch_size(spec.data.batch_size, ranks)
        self.device = torch.device(device)
        self.run = RunDir(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks)
        if self.run and not any(isinstance(cb, SampleGrids) for cb in self.callbacks):
            self.callbacks.append(SampleGrids())
        self.stop_requested = False
        self.guard = NonFiniteGuard(mode=spec.train.on_nonfinite, run_dir=self.run.path if self.run else None)

        data = data or load_images(spec.data.source, registry=registry, root=spec.data.root, download=spec.data.download)
        self.num_classes = spec.model.num_classes
        if self.num_classes:  # a model of N classes trains on the digits labelled 0 … N−1
            data = data.first_classes(self.num_classes)
        images, labels = data.to_float(self.device)
        torch.manual_seed(spec.seed)
        self.generator = build_generator(spec, registry=registry, image_shape=data.image_shape).to(self.device).train()
        if spec.train.match_data_brightness:
            mean = float(images.mean())
            match_data_brightness(self.generator, mean, z_dim=spec.model.z_dim, seed=spec.seed, num_classes=self.num_classes)
        self.discriminator = build_discriminator(spec, registry=registry, image_shape=data.image_shape).to(self.device).train()
        self.ema = EMA(self.generator, decay=spec.train.ema_decay, z_dim=spec.model.z_dim, num_classes=self.num_classes)
        self.loss, self.penalties = build_objective(spec, registry)
        self.augment = Augmentation(spec, registry=registry, ranks=ranks).to(self.device)  # identity when spec.augment is empty
        betas = tuple(spec.optim.betas)
        self.opt_g = optim.adam(self.generator.parameters(), lr=spec.optim.g_lr, betas=betas, device=self.device)
        self.opt_d = optim.adam(self.discriminator.parameters(), lr=spec.optim.d_lr, betas=betas, device=self.device)
        self.learning_rates = LearningRates(
            (self.opt_g, self.opt_d), schedule=spec.optim.lr_decay, start=spec.optim.lr_decay_start, steps=spec.train.steps
        )
        # Fixed noise comes from its own generator, so every spec with the same seed shows the same z.
        self.fixed_noise = latents(spec.model.z_dim, spec.train.grid_size, seed=spec.seed).to(self.device)
        # Its classes cycle 0, 1, …, so every grid shows every class (fixed by the spec: not checkpointed).
        self.fixed_labels = class_cycle(spec.train.grid_size, self.num_classes, device=self.device) if self.num_classes else None
        self._attention = {
            **{f"G.{k}": m for k, m in attention_blocks(self.generator).items()},
            **{f"D.{k}": m for k, m in attention_blocks(self.discriminator).items()},
        }

        self.data_source = data.source
        self.images, self.labels = images, labels
        if ranks.enabled:  # each rank its own shard (labels alongside), and its own noise and batches
            self.images = self.images[ranks.rank :: ranks.world_size]
            self.labels = self.labels[ranks.rank :: ranks.world_size]
            torch.manual_seed(distributed.rank_seed(spec.seed, ranks))
        # How train_step calls the networks: "synced" calls average gradients over ranks (DDP),
        # "local" ones need no averaging (G under no_grad, D with frozen weights). Both are
        # compiled with train.compile; checkpoints and the EMA use the plain modules.
        train = spec.train
        compiled = functools.partial(acceleration.maybe_compile, enabled=train.compile, mode=train.compile_mode)
        self.synced_g, self.synced_d = (compiled(distributed.data_parallel(m, ranks, self.device)) for m in (self.generator, self.discriminator))
        self.local_g, self.local_d = (compiled(self.generator), compiled(self.discriminator)) if ranks.enabled else (self.synced_g, self.synced_d)
        self.scaler_d, self.scaler_g = (acceleration.grad_scaler(self.device, train.precision) for _ in range(2))
        # Reals and fakes through D in one call, unless D's output depends on its batch (see training.scoring).
        self.joint_d = not batch_dependent(self.discriminator)
        if train.cuda_graph and ranks.enabled:
            raise SpecError([("train.cuda_graph", "is for one process; under torchrun use false (train.compile is the alternative)")])
        self.captured_step = CapturedStep(self) if train.cuda_graph else None
        self.step = 0
        self._pending: list[tuple[int, dict[str, torch.Tensor], float]] = []

    # --- the contract ------------------------------------------------------------------

    def sample_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``d_steps`` batches of real images, drawn with replacement, in one tensor, and for a
        class-conditional model their labels (one index draw for both; None otherwise)."""
        n = self.batch_size * self.spec.optim.d_steps
        index = torch.randint(self.images.shape[0], (n,), device=self.device)
        return self.images[index], (self.labels[index] if self.num_classes else None)

    def sample_real(self) -> torch.Tensor:
        """The images of :meth:`sample_batch`: all an unconditional ``train_step`` takes."""
        return self.sample_batch()[0]

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.spec.model.z_dim, device=self.device)

    def train_step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``d_steps`` discriminator updates (one chunk of ``real`` each), then one generator update.

        ``labels``: the classes of ``real``, given exactly when the model is class-conditional
        (``trainer.train_step(*trainer.sample_batch())`` fits both). Fakes are drawn for the
        classes of the reals they are scored beside: each class D sees real in a step it also sees
        fake, and a penalty's interpolates join two images of one class (with classes drawn
        apart, a class could go a step with reals and no fakes; docs/results.md, "The lost class").
        Returns detached scalar tensors (no host sync): ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``.
        """
        logs = self.updates(real, labels)
        self.after_updates()
        return logs | self.augment_logs()

    def updates(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The optimiser updates of :meth:`train_step`, and their logs: what ``train.cuda_graph`` captures."""
        if (labels is not None) != bool(self.num_classes):
            raise ValueError(f"train_step takes labels exactly when model.num_classes > 0 (here {self.num_classes})")
        loss = self.loss
        chunks = real.chunk(self.spec.optim.d_steps)
        label_chunks = labels.chunk(self.spec.optim.d_steps) if labels is not None else (None,) * len(chunks)
        self.discriminator.requires_grad_(True)
        for chunk, chunk_labels in zip(chunks, label_chunks):
            with torch.no_grad(), self._autocast():
                fake = self.augment(call(self.local_g, self.noise(chunk.shape[0]), chunk_labels))
            chunk = self.augment(chunk)  # D sees reals and fakes through the same augmentations (DiffAugment)
            with self._autocast():
                real_logits, fake_logits = score(self.synced_d, chunk, fake, real_labels=chunk_labels, fake_labels=chunk_labels, joint=self.joint_d)
            self.augment.observe(real_logits)
            d_loss = loss.d_loss(real_logits.float(), fake_logits.float())
            for penalty in self.penalties:  # eager and float32: double backward does not go through torch.compile
                # A conditional D is scored on the real images' classes (an interpolate takes its real end's).
                d_loss = d_loss + penalty(discriminator=with_labels(self.discriminator, chunk_labels), real=chunk, fake=fake.float())
            self._update(self.opt_d, self.scaler_d, d_loss)

        self.discriminator.requires_grad_(False)  # the G step needs gradients through D, not for D's weights
        # Losses that compare with real logits (relativistic ones) read the last D batch.
        last_real, last_labels = chunks[-1], label_chunks[-1]
        with self._autocast():
            # Augmented here too, differentiably, so that G is scored by the D that was trained.
            fake = self.augment(call(self.synced_g, self.noise(last_real.shape[0]), last_labels))
            fake_logits = call(self.local_d, fake, last_labels)
            real_for_g = call(self.local_d, self.augment(last_real), last_labels).float() if loss.g_needs_real_logits else None
        g_loss = loss.g_loss(fake_logits.float(), real_for_g)
        self._update(self.opt_g, self.scaler_g, g_loss)
        return {
            "d_loss": d_loss.detach(),
            "g_loss": g_loss.detach(),
            "d_real": real_logits.detach().float().mean(),
            "d_fake": fake_logits.detach().float().mean(),
        } | self.guard.step_logs(self.device)

    def after_updates(self) -> None:
        """What follows a step's updates on the host's step count: the EMA (its warm-up decay) and ADA's adjustment."""
        self.ema.update(self.step + 1)
        self.augment.adjust(self.step + 1)

    def augment_logs(self) -> dict[str, torch.Tensor]:
        """``augment_p``: the strength every augmentation's p is multiplied by (1 unless adaptive)."""
        return {"augment_p": self.augment.strength.clone()} if self.augment.enabled else {}

    def _update(self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, loss: torch.Tensor) -> None:
        """One optimiser step on ``loss`` (scaled for fp16; the scaler passes through otherwise),
        unless ``on_nonfinite: skip`` finds the loss or a gradient non-finite."""
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        self.guard.step(optimizer, loss, apply=lambda: (scaler.step(optimizer), scaler.update()))

    def _autocast(self):
        # Autocast's cache of cast weights must not outlive a CUDA graph capture (torch.cuda.graph's rule).
        return acceleration.autocast(self.device, self.spec.train.precision, cache=self.captured_step is None)

    # --- the loop ----------------------------------------------------------------------

    def fit(self) -> None:
        """Train until ``spec.train.steps``, writing logs and checkpoints on schedule."""
        train = self.spec.train
        if self.run and self.ranks.is_main:
            self.run.create()
            self.run.write_spec(state.spec_text(self))
        for cb in self.callbacks:
            cb.on_train_start(self)
        last_time = time.perf_counter()
        while self.step < train.steps and not self._stop_agreed():
            logs = self.captured_step() if self.captured_step else self.train_step(*self.sample_batch()) | self.gammas()
            self.step += 1
            self.learning_rates.set(self.step)  # like a PyTorch loop's scheduler.step(): for the next update
            now = time.perf_counter()
            self._pending.append((self.step, logs, now - last_time))
            last_time = now
            done = self.step == train.steps
            if self.step % train.log_every == 0 or done:
                self.flush_logs()
            for cb in self.callbacks:
                cb.on_step_end(self)
            if self.run and (done or _due(self.step, train.checkpoint_every)):
                self.save()
        if self.step < train.steps and self.run:  # stopped early on request
            self.save()
        for cb in self.callbacks:
            cb.on_train_end(self)

    def request_stop(self) -> None:
        """Stop after the current step (a checkpoint is written); safe from a signal handler."""
        self.stop_requested = True

    def _stop_agreed(self) -> bool:
        """Whether to stop now. Under DDP every rank must stop after the same step, so the ranks
        agree in one collective at each log flush, and a request waits for the next one."""
        if not self.ranks.enabled:
            return self.stop_requested
        if self.step % self.spec.train.log_every:
            return False
        self.stop_requested = distributed.any_rank(self.stop_requested, self.ranks, self.device)
        return self.stop_requested

    def flush_logs(self) -> list[dict[str, Any]]:
        """Turn pending per-step tensors into rows with one host sync, append them to the log."""
        if not self._pending:
            return []
        steps, logs, times = zip(*self._pending)
        self._pending.clear()
        keys = list(logs[0])
        values = torch.stack([torch.stack([row[k].float() for k in keys]) for row in logs])
        values = distributed.mean_over_ranks(values, self.ranks).cpu().tolist()
        rows = [{"step": step, **dict(zip(keys, vals)), "step_time": seconds} for step, vals, seconds in zip(steps, values, times)]
        if self.run and self.ranks.is_main:
            self.run.append_metrics(rows)
        for cb in self.callbacks:
            cb.on_log(self, rows)
        self.guard.check_rows(rows)
        return rows

    def gammas(self) -> dict[str, torch.Tensor]:
        """A snapshot of every attention block's gamma, keyed ``gamma/G.attn14`` etc."""
        return {f"gamma/{name}": m.gamma.detach().clone() for name, m in self._attention.items()}

    # --- checkpoints -------------------------------------------------------------------

    def weights(self) -> list[torch.Tensor]:
        """Every trained parameter: generator, discriminator, EMA generator (in that order)."""
        return [p for m in (self.generator, self.discriminator, self.ema.shadow) for p in m.parameters()]

    def save(self) -> Path | None:
        """Write a checkpoint (on rank 0; under DDP every rank must call this). Returns its path on rank 0."""
        self.flush_logs()
        tensors, json_state = state.checkpoint_state(self)
        self.guard.check_checkpoint(tensors, self.step)
        if not self.ranks.is_main:
            return None
        path = ckpt.save_checkpoint(self.run.path, self.step, tensors, json_state, state.spec_text(self))
        ckpt.prune_checkpoints(self.run.path, self.spec.train.keep_checkpoints)
        return path

    def restore(self, checkpoint: ckpt.Checkpoint) -> None:
        """Continue exactly where ``checkpoint`` left off (weights, optimisers, RNG, step)."""
        state.restore(self, checkpoint)
        self.learning_rates.set(self.step)
        if self.run and self.ranks.is_main:
            self.run.truncate_metrics(self.step)


def _due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0
