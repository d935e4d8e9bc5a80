"""nccl under torchrun on one GPU: ``torchrun --standalone --nproc_per_node 1 -m benchmarks.nccl_smoke``.

``ganparts train`` under a one-process torchrun trains as a single process (world size 1 joins
no process group; see ganparts.training.distributed), so it never touches nccl. This joins an
nccl group the way ``distributed.setup`` does, all-reduces, and takes one DDP step of the
default spec's discriminator, whose gradients must equal the plain module's. Prints ``nccl ok``.
"""

from __future__ import annotations

import copy
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from benchmarks.common import spec
from ganparts.models import build_discriminator
from ganparts.plugins import default_registry


def main() -> int:
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl", device_id=device)
    try:
        total = torch.full((4,), float(dist.get_rank() + 1), device=device)
        dist.all_reduce(total)
        expected = float(sum(range(1, dist.get_world_size() + 1)))
        assert torch.equal(total.cpu(), torch.full((4,), expected)), f"all_reduce gave {total.tolist()}, expected {expected}"

        torch.manual_seed(0)
        plain = build_discriminator(spec("sagan"), registry=default_registry(), image_shape=(1, 28, 28)).to(device)
        wrapped = DistributedDataParallel(copy.deepcopy(plain), device_ids=[device.index])
        images = torch.randn(16, 1, 28, 28, device=device)
        for net in (plain, wrapped):
            net(images).mean().backward()
        for a, b in zip(plain.parameters(), wrapped.module.parameters()):
            torch.testing.assert_close(b.grad, a.grad)  # DDP's mean over one rank is the rank's own gradient
        print(f"nccl ok: world size {dist.get_world_size()}, {torch.cuda.get_device_name(device)}, nccl {torch.cuda.nccl.version()}")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
