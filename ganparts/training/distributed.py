"""Data-parallel training under ``torchrun``: process group, ranks, and the few collectives the Trainer needs.

``torchrun --nproc_per_node=N -m ganparts train SPEC --out DIR`` starts N processes and
sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in each;
:func:`setup` reads them and joins the process group (gloo on CPU, nccl on CUDA). Without
them every helper here is the single-process identity, so the Trainer has one code path.

Division of work: every rank builds the same networks from the same seed, then draws its
own noise and batches (seed + rank) from its own shard of the data; DistributedDataParallel
averages gradients, so weights stay identical on every rank; rank 0 alone writes logs,
samples and checkpoints. ``data.batch_size`` is the global batch, split evenly over ranks.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Callable, Iterable, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganparts.errors import SpecError

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    """Where this process sits among the training processes (``world_size`` 1: not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes logs, samples and checkpoints."""
        return self.rank == 0


SINGLE = Ranks()


def from_environment() -> Ranks:
    """The ranks torchrun describes in the environment, or :data:`SINGLE` outside torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return SINGLE
    return Ranks(rank=int(os.environ["RANK"]), world_size=world_size, local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def setup(device: torch.device) -> tuple[Ranks, torch.device]:
    """Join torchrun's process group, if any, and return the ranks and this rank's device.

    On CUDA each process takes GPU ``LOCAL_RANK`` (unless ``device`` names one) and uses nccl;
    on CPU the processes use gloo.
    """
    ranks = from_environment()
    if not ranks.enabled:
        return ranks, device
    if device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank if device.index is None else device.index)
        torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl", device_id=device)
    else:
        dist.init_process_group(backend="gloo")
    return ranks, device


def teardown(*, finished: bool) -> None:
    """Leave the process group (a no-op when none was joined).

    ``finished``: this rank ended normally. Then it first waits for the others, since a rank
    that leaves while rank 0 still writes its last checkpoint can bring gloo down mid-write.
    After a failure it leaves at once: the other ranks may never reach that barrier.
    """
    if dist.is_available() and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def local_batch_size(batch_size: int, ranks: Ranks) -> int:
    """This rank's share of the global ``data.batch_size``."""
    if batch_size % ranks.world_size:
        raise SpecError([(
            "data.batch_size",
            f"{batch_size} does not split evenly over {ranks.world_size} ranks; use a multiple of {ranks.world_size}",
        )])
    return batch_size // ranks.world_size


def rank_seed(seed: int, ranks: Ranks, resumed_at: int | None = None) -> int:
    """Seed of this rank's noise and batch stream: ``seed + rank`` for a fresh run; for a run
    resumed on a different number of ranks (whose streams cannot continue), one derived from
    seed, rank and the step resumed at."""
    if resumed_at is None:
        return seed + ranks.rank
    digest = hashlib.sha256(f"ganparts/{seed}/{ranks.rank}/{resumed_at}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % 2**63


def data_parallel(module: nn.Module, ranks: Ranks, device: torch.device) -> nn.Module:
    """``module`` wrapped in DistributedDataParallel when distributed, else ``module`` itself.

    DDP's defaults are kept: rank 0's parameters are broadcast once here, and rank 0's
    buffers at every forward of the wrapper. Those buffers are spectral-norm vectors (the
    same on every rank anyway: each rank runs the power iteration on the same weights) and
    BatchNorm running statistics (rank 0's then stand for all; the normalisation itself
    uses each rank's own batch statistics — SyncBatchNorm has no CPU implementation).
    """
    if not ranks.enabled:
        return module
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def main_first(load: Callable[[], T], ranks: Ranks) -> T:
    """Run ``load`` on rank 0 first (it may download into a shared cache), then on the other ranks."""
    if ranks.enabled and not ranks.is_main:
        dist.barrier()
    result = load()
    if ranks.enabled and ranks.is_main:
        dist.barrier()
    return result


def mean_over_ranks(tensor: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """The element-wise mean of ``tensor`` over all ranks (``tensor`` itself when not distributed)."""
    if not ranks.enabled:
        return tensor
    total = tensor.clone()
    dist.all_reduce(total)  # SUM: gloo has no AVG
    return total / ranks.world_size


def any_rank(flag: bool, ranks: Ranks, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any rank."""
    if not ranks.enabled:
        return flag
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather_bytes(data: torch.Tensor, ranks: Ranks) -> list[torch.Tensor]:
    """Every rank's copy of ``data`` (same shape on each rank), in rank order, on the CPU."""
    if not ranks.enabled:
        return [data.cpu()]
    parts = [torch.empty_like(data) for _ in range(ranks.world_size)]
    dist.all_gather(parts, data)
    return [p.cpu() for p in parts]


def fingerprint(tensors: Iterable[torch.Tensor]) -> str:
    """SHA-256 of the tensors' bytes: equal on two ranks exactly when they hold the same values."""
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(tensor.detach().reshape(-1).cpu().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
