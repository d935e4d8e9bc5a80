"""The Trainer: one ``train_step`` contract, EMA, fixed-noise samples, checkpoint/resume."""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from ganparts.training import acceleration, distributed
from ganparts.runs import checkpoints as ckpt
from ganparts.blocks.attention import attention_blocks
from ganparts.training.callbacks import Callback
from ganparts.data.sources import ImageSet, load_images
from ganparts.training.distributed import SINGLE, Ranks
from ganparts.training.nonfinite import NonFiniteGuard
from ganparts.training.ema import EMA
from ganparts.errors import first_line
from ganparts.models import build_discriminator, build_generator
from ganparts.plugins import default_registry
from ganparts.spec.registry import Registry
from ganparts.runs.layout import RunDir
from ganparts.spec.experiment import Experiment
from ganparts.spec.files import dump_spec

log = logging.getLogger("ganparts")


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Trains the GAN an :class:`~ganparts.spec.experiment.Experiment` describes.

    Args:
        spec: the validated experiment.
        run_dir: where spec, metrics, samples and checkpoints go; None trains in memory only.
        device: torch device for networks and data.
        data: training images; loaded from ``spec.data`` when omitted.
        callbacks: objects with ``on_train_start/on_log/on_train_end`` (see ganparts.training.callbacks).
        registry: block registry; the process-wide one by default.
        ranks: this process's place under torchrun (see ganparts.training.distributed); one process by default.
    """

    def __init__(
        self,
        spec: Experiment,
        *,
        run_dir: str | Path | None = None,
        device: torch.device | str = "cpu",
        data: ImageSet | None = None,
        callbacks: Sequence[Callback] = (),
        registry: Registry | None = None,
        ranks: Ranks = SINGLE,
    ) -> None:
        self.spec = spec
        self.ranks = ranks
        self.batch_size = distributed.local_batch_size(spec.data.batch_size, ranks)
        self.device = torch.device(device)
        self.registry = registry or default_registry()
        self.run = RunDir(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks)
        self.stop_requested = False
        self.guard = NonFiniteGuard(mode=spec.train.on_nonfinite, run_dir=self.run.path if self.run else None)

        torch.manual_seed(spec.seed)
        self.generator = build_generator(spec, self.registry).to(self.device).train()
        self.discriminator = build_discriminator(spec, self.registry).to(self.device).train()
        self.ema = EMA(self.generator, decay=spec.train.ema_decay)
        self.loss = self.registry.create("loss", spec.loss)
        self.penalties = self.loss.penalties + tuple(self.registry.create("penalty", p) for p in spec.penalties)
        betas = tuple(spec.optim.betas)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=spec.optim.g_lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=spec.optim.d_lr, betas=betas)
        # Fixed noise comes from its own generator, so every spec with the same seed shows the same z.
        noise_rng = torch.Generator().manual_seed(spec.seed)
        self.fixed_noise = torch.randn(spec.train.grid_size, spec.model.z_dim, generator=noise_rng).to(self.device)
        self._attention = {
            **{f"G.{k}": m for k, m in attention_blocks(self.generator).items()},
            **{f"D.{k}": m for k, m in attention_blocks(self.discriminator).items()},
        }

        data = data or load_images(spec.data.source, root=spec.data.root, download=spec.data.download, registry=self.registry)
        self.data_source = data.source
        self.images, self.labels = data.to_float(self.device)
        if ranks.enabled:  # each rank its own shard, and its own noise and batches
            self.images, self.labels = self.images[ranks.rank :: ranks.world_size], self.labels[ranks.rank :: ranks.world_size]
            torch.manual_seed(distributed.rank_seed(spec.seed, ranks))
        # How train_step calls the networks: "synced" calls average gradients over ranks (DDP),
        # "local" ones need no averaging (G under no_grad, D with frozen weights). Both are
        # compiled with train.compile; checkpoints and the EMA use the plain modules.
        train = spec.train
        acceleration.check(compile=train.compile, precision=train.precision, device=self.device, has_penalties=bool(self.penalties))
        compiled = functools.partial(acceleration.maybe_compile, enabled=train.compile)
        self.synced_g, self.synced_d = (compiled(distributed.data_parallel(m, ranks, self.device)) for m in (self.generator, self.discriminator))
        self.local_g, self.local_d = (compiled(self.generator), compiled(self.discriminator)) if ranks.enabled else (self.synced_g, self.synced_d)
        self.scaler_d, self.scaler_g = (acceleration.grad_scaler(self.device, train.precision) for _ in range(2))
        self.step = 0
        self._pending: list[tuple[int, dict[str, torch.Tensor], float]] = []

    # --- the contract ------------------------------------------------------------------

    def sample_real(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``d_steps`` batches of real images and labels, drawn with replacement, in one tensor."""
        n = self.batch_size * self.spec.optim.d_steps
        index = torch.randint(self.images.shape[0], (n,), device=self.device)
        return self.images[index], self.labels[index]

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.spec.model.z_dim, device=self.device)

    def train_step(self, real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """``d_steps`` discriminator updates (one chunk of ``real`` each), then one generator update.

        Returns detached scalar tensors (no host sync): ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``.
        """
        loss = self.loss
        self.discriminator.requires_grad_(True)
        for chunk in real.chunk(self.spec.optim.d_steps):
            with torch.no_grad(), self._autocast():
                fake = self.local_g(self.noise(chunk.shape[0]))
            with self._autocast():
                real_logits, fake_logits = self.synced_d(chunk), self.synced_d(fake)
            d_loss = loss.d_loss(real_logits.float(), fake_logits.float())
            for penalty in self.penalties:  # eager and float32: double backward does not go through torch.compile
                d_loss = d_loss + penalty(discriminator=self.discriminator, real=chunk, fake=fake.float())
            self._update(self.opt_d, self.scaler_d, d_loss)

        self.discriminator.requires_grad_(False)  # the G step needs gradients through D, not for D's weights
        with self._autocast():
            fake_logits = self.local_d(self.synced_g(self.noise(chunk.shape[0])))
            real_for_g = self.local_d(chunk).float() if loss.g_needs_real_logits else None
        g_loss = loss.g_loss(fake_logits.float(), real_for_g)
        self._update(self.opt_g, self.scaler_g, g_loss)
        self.ema.update(self.step + 1)
        return {
            "d_loss": d_loss.detach(),
            "g_loss": g_loss.detach(),
            "d_real": real_logits.detach().float().mean(),
            "d_fake": fake_logits.detach().float().mean(),
        } | self.guard.step_logs(self.device)

    def _update(self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, loss: torch.Tensor) -> None:
        """One optimiser step on ``loss`` (scaled for fp16; the scaler passes through otherwise),
        unless ``on_nonfinite: skip`` finds the loss or a gradient non-finite."""
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        self.guard.step(optimizer, loss, apply=lambda: (scaler.step(optimizer), scaler.update()))

    def _autocast(self):
        return acceleration.autocast(self.device, self.spec.train.precision)

    # --- the loop ----------------------------------------------------------------------

    def fit(self) -> None:
        """Train until ``spec.train.steps``, writing logs, samples and checkpoints on schedule."""
        train = self.spec.train
        if self.run and self.ranks.is_main:
            self.run.create()
            self.run.write_spec(dump_spec(self.spec))
        for cb in self.callbacks:
            cb.on_train_start(self)
        last_time = time.perf_counter()
        while self.step < train.steps and not self._stop_agreed():
            logs = self.train_step(*self.sample_real()) | self.gammas()
            self.step += 1
            now = time.perf_counter()
            self._pending.append((self.step, logs, now - last_time))
            last_time = now
            done = self.step == train.steps
            if self.step % train.log_every == 0 or done:
                self.flush_logs()
            if self.run and self.ranks.is_main and (done or _due(self.step, train.sample_every)):
                self.write_samples()
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

    def write_samples(self) -> Path:
        """A grid of the EMA generator on the fixed noise, plus its attention maps."""
        from ganparts.analysis import pictures as viz

        path = self.run.samples / f"step_{self.step:08d}.png"
        with torch.no_grad():
            viz.save_grid(self.ema.shadow(self.fixed_noise), path)
        if attention_blocks(self.ema.shadow):
            viz.save_generator_attention(self.ema.shadow, self.fixed_noise[:4], self.run.attention / f"step_{self.step:08d}.png")
        return path

    # --- checkpoints -------------------------------------------------------------------

    def state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {"fixed_noise": self.fixed_noise, "rng.cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        for prefix, module in (("generator", self.generator), ("generator_ema", self.ema.shadow), ("discriminator", self.discriminator)):
            tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
        for prefix, opt in (("optim_g", self.opt_g), ("optim_d", self.opt_d)):
            for index, moments in opt.state_dict()["state"].items():
                tensors.update({f"{prefix}.{index}.{k}": v for k, v in moments.items()})
        return tensors

    def weights(self) -> list[torch.Tensor]:
        """Every trained parameter: generator, discriminator, EMA generator (in that order)."""
        return [p for m in (self.generator, self.discriminator, self.ema.shadow) for p in m.parameters()]

    def save(self) -> Path | None:
        """Write a checkpoint (on rank 0; under DDP every rank must call this). Returns its path on rank 0."""
        self.flush_logs()
        self.guard.check_weights({"generator": self.generator, "EMA generator": self.ema.shadow, "discriminator": self.discriminator}, self.step)
        tensors = self.state_tensors()
        state = {
            "data_source": self.data_source,
            "torch_version": torch.__version__,
            "world_size": self.ranks.world_size,
            "optim_g": {"param_groups": self.opt_g.state_dict()["param_groups"]},
            "optim_d": {"param_groups": self.opt_d.state_dict()["param_groups"]},
        }
        if self.scaler_d.is_enabled():
            state["grad_scalers"] = {"d": self.scaler_d.state_dict(), "g": self.scaler_g.state_dict()}
        if self.ranks.enabled:
            tensors |= self._rank_rng_states()
            state["rank_fingerprints"] = self._rank_fingerprints()
        if not self.ranks.is_main:
            return None
        path = ckpt.save_checkpoint(self.run.path, self.step, tensors, state, dump_spec(self.spec))
        ckpt.prune_checkpoints(self.run.path, self.spec.train.keep_checkpoints)
        return path

    def _rank_rng_states(self) -> dict[str, torch.Tensor]:
        """Every rank's RNG states, so that a resume on as many ranks continues each stream exactly."""
        local = {k: v for k, v in self.state_tensors().items() if k.startswith("rng.")}
        return {
            f"{key}.rank{rank}": state
            for key, value in local.items()
            for rank, state in enumerate(distributed.gather_bytes(value.to(self.device), self.ranks))
        }

    def _rank_fingerprints(self) -> list[str]:
        """Every rank's :func:`~ganparts.training.distributed.fingerprint` of its weights; raises if they differ."""
        digest = torch.frombuffer(bytearray.fromhex(distributed.fingerprint(self.weights())), dtype=torch.uint8)
        prints = [bytes(p.tolist()).hex() for p in distributed.gather_bytes(digest.to(self.device), self.ranks)]
        if len(set(prints)) > 1:
            raise RuntimeError(f"step {self.step}: the ranks hold different weights ({prints}); data-parallel training is out of sync")
        return prints

    def restore(self, checkpoint: ckpt.Checkpoint) -> None:
        """Continue exactly where ``checkpoint`` left off (weights, optimisers, RNG, step)."""
        try:
            for prefix, module in (("generator", self.generator), ("generator_ema", self.ema.shadow), ("discriminator", self.discriminator)):
                module.load_state_dict(checkpoint.group(prefix))
            for prefix, opt in (("optim_g", self.opt_g), ("optim_d", self.opt_d)):
                opt.load_state_dict(_optimizer_state(checkpoint, prefix))
            for name, scaler in (("d", self.scaler_d), ("g", self.scaler_g)):
                if name in checkpoint.state.get("grad_scalers", {}):
                    scaler.load_state_dict(checkpoint.state["grad_scalers"][name])
        except (RuntimeError, KeyError, ValueError) as err:
            raise ckpt.CheckpointError(f"{checkpoint.path}: does not match this spec's networks ({first_line(err)})") from None
        self.fixed_noise = checkpoint.tensors["fixed_noise"].to(self.device)
        self._restore_rng(checkpoint)
        self.step = checkpoint.step
        if self.run and self.ranks.is_main:
            self.run.truncate_metrics(self.step)

    def _restore_rng(self, checkpoint: ckpt.Checkpoint) -> None:
        saved_world_size = checkpoint.state.get("world_size", 1)
        if saved_world_size != self.ranks.world_size:  # no stream to continue: derive new ones
            if self.ranks.is_main:
                log.info("checkpoint from %d rank(s), resuming on %d: noise and batches are reseeded", saved_world_size, self.ranks.world_size)
            torch.manual_seed(distributed.rank_seed(self.spec.seed, self.ranks, resumed_at=checkpoint.step))
            return
        suffix = f".rank{self.ranks.rank}" if self.ranks.enabled else ""
        torch.set_rng_state(checkpoint.tensors["rng.cpu" + suffix].cpu())
        if self.device.type == "cuda" and "rng.cuda" + suffix in checkpoint.tensors:
            torch.cuda.set_rng_state(checkpoint.tensors["rng.cuda" + suffix].cpu(), self.device)


def _optimizer_state(checkpoint: ckpt.Checkpoint, prefix: str) -> dict[str, Any]:
    moments: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in checkpoint.group(prefix).items():
        index, name = key.split(".", 1)
        moments.setdefault(int(index), {})[name] = value
    return {"state": moments, "param_groups": checkpoint.state[prefix]["param_groups"]}


def _due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0
