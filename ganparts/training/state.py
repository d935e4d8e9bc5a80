"""A trainer's state as checkpoint tensors and JSON, and back: what makes a resume exact.

Tensors (safetensors): the three networks' state dicts, both optimisers' moments, the fixed
sample noise, the RNG states (every rank's under DDP) and, with augmentation, its adaptive
strength and statistics. JSON: optimiser hyper-parameters,
loss-scaler state, data source, world size and, under DDP, each rank's weight fingerprint.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import torch

from ganparts.errors import first_line
from ganparts.runs import checkpoints as ckpt
from ganparts.spec import provenance
from ganparts.spec.files import dump_spec
from ganparts.training import distributed, optim
from ganparts.training.ema import EMA

if TYPE_CHECKING:
    from ganparts.training.trainer import Trainer

log = logging.getLogger("ganparts")


def networks(trainer: Trainer) -> tuple[tuple[str, torch.nn.Module | EMA], ...]:
    """The networks a checkpoint holds, by their key prefix (the EMA generator calibrated: :meth:`EMA.calibrated`)."""
    return (("generator", trainer.generator), ("generator_ema", trainer.ema), ("discriminator", trainer.discriminator))


def optimizers(trainer: Trainer) -> tuple[tuple[str, torch.optim.Optimizer], ...]:
    return (("optim_g", trainer.opt_g), ("optim_d", trainer.opt_d))


def state_tensors(trainer: Trainer) -> dict[str, torch.Tensor]:
    """This process's tensors: weights, optimiser moments, fixed noise, RNG states."""
    tensors = {"fixed_noise": trainer.fixed_noise, "rng.cpu": torch.get_rng_state()}
    if trainer.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(trainer.device)
    for prefix, module in networks(trainer):
        tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
    for prefix, opt in optimizers(trainer):
        for index, moments in opt.state_dict()["state"].items():
            tensors.update({f"{prefix}.{index}.{k}": v for k, v in moments.items()})
    if trainer.augment.enabled:  # absent without augmentation, so such checkpoints are as before
        tensors.update({f"augment.{k}": v for k, v in trainer.augment.state_dict().items()})
    return tensors


def checkpoint_state(trainer: Trainer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, JSON state)`` of a checkpoint; under DDP every rank must call this (it gathers)."""
    tensors = state_tensors(trainer)
    state = {
        "data_source": trainer.data_source,
        "blocks": provenance.record(trainer.spec, trainer.registry),  # which distributions provided its blocks
        "torch_version": torch.__version__,
        "world_size": trainer.ranks.world_size,
        **{prefix: {"param_groups": opt.state_dict()["param_groups"]} for prefix, opt in optimizers(trainer)},
    }
    if trainer.scaler_d.is_enabled():
        state["grad_scalers"] = {"d": trainer.scaler_d.state_dict(), "g": trainer.scaler_g.state_dict()}
    if trainer.ranks.enabled:
        tensors |= _rank_rng_states(trainer)
        state["rank_fingerprints"] = _rank_fingerprints(trainer)
    return tensors, state


def spec_text(trainer: Trainer) -> str:
    """``spec.yaml`` of the run and its checkpoints: the spec, under a comment naming the
    distributions that provided its blocks (:mod:`ganparts.spec.provenance`)."""
    return provenance.comment(provenance.record(trainer.spec, trainer.registry)) + dump_spec(trainer.spec)


def restore(trainer: Trainer, checkpoint: ckpt.Checkpoint) -> None:
    """Put weights, optimisers, loss scalers, fixed noise, RNG and step back from ``checkpoint``."""
    try:
        for prefix, module in networks(trainer):
            module.load_state_dict(checkpoint.group(prefix))
        for prefix, opt in optimizers(trainer):
            optim.load_state(opt, _optimizer_state(checkpoint, prefix))  # fused or not, whichever wrote it
        if trainer.augment.enabled:
            trainer.augment.load_state_dict(checkpoint.group("augment"))
        for name, scaler in (("d", trainer.scaler_d), ("g", trainer.scaler_g)):
            if name in checkpoint.state.get("grad_scalers", {}):
                scaler.load_state_dict(checkpoint.state["grad_scalers"][name])
    except (RuntimeError, KeyError, ValueError) as err:
        raise ckpt.CheckpointError(f"{checkpoint.path}: does not match this spec's networks ({first_line(err)})") from None
    trainer.fixed_noise = checkpoint.tensors["fixed_noise"].to(trainer.device)
    _restore_rng(trainer, checkpoint)
    trainer.step = checkpoint.step


def _restore_rng(trainer: Trainer, checkpoint: ckpt.Checkpoint) -> None:
    ranks = trainer.ranks
    saved_world_size = checkpoint.state.get("world_size", 1)
    if saved_world_size != ranks.world_size:  # no stream to continue: derive new ones
        if ranks.is_main:
            log.info("checkpoint from %d rank(s), resuming on %d: noise and batches are reseeded", saved_world_size, ranks.world_size)
        torch.manual_seed(distributed.rank_seed(trainer.spec.seed, ranks, resumed_at=checkpoint.step))
        return
    suffix = f".rank{ranks.rank}" if ranks.enabled else ""
    torch.set_rng_state(checkpoint.tensors["rng.cpu" + suffix].cpu())
    if trainer.device.type == "cuda" and "rng.cuda" + suffix in checkpoint.tensors:
        torch.cuda.set_rng_state(checkpoint.tensors["rng.cuda" + suffix].cpu(), trainer.device)


def _optimizer_state(checkpoint: ckpt.Checkpoint, prefix: str) -> dict[str, Any]:
    moments: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in checkpoint.group(prefix).items():
        index, name = key.split(".", 1)
        moments.setdefault(int(index), {})[name] = value
    return {"state": moments, "param_groups": checkpoint.state[prefix]["param_groups"]}


def _rank_rng_states(trainer: Trainer) -> dict[str, torch.Tensor]:
    """Every rank's RNG states, so that a resume on as many ranks continues each stream exactly."""
    local = {k: v for k, v in state_tensors(trainer).items() if k.startswith("rng.")}
    return {
        f"{key}.rank{rank}": state
        for key, value in local.items()
        for rank, state in enumerate(distributed.gather_bytes(value.to(trainer.device), trainer.ranks))
    }


def _rank_fingerprints(trainer: Trainer) -> list[str]:
    """Every rank's :func:`~ganparts.training.distributed.fingerprint` of its weights; raises if they differ."""
    digest = torch.frombuffer(bytearray.fromhex(distributed.fingerprint(trainer.weights())), dtype=torch.uint8)
    prints = [bytes(p.tolist()).hex() for p in distributed.gather_bytes(digest.to(trainer.device), trainer.ranks)]
    if len(set(prints)) > 1:
        raise RuntimeError(f"step {trainer.step}: the ranks hold different weights ({prints}); data-parallel training is out of sync")
    return prints
