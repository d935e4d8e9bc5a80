"""Efficient vs SAGAN attention: forward+backward time and FLOPs as the feature map grows.

    python plugins/ganparts-extras/benchmarks/attention_cost.py [--device cpu] [--channels 32] [--batch 16]

Prints, per side length, each block's median time and FLOPs and their ratios (SAGAN / efficient),
all measured in one run on one device, so the ratios compare like with like.
"""

import argparse

import torch
from torch.utils.benchmark import Timer
from torch.utils.flop_counter import FlopCounterMode

from ganparts.blocks.attention import SelfAttention2d
from ganparts_extras import EfficientAttention2d


def measure(block: torch.nn.Module, x: torch.Tensor) -> tuple[float, int]:
    """Median seconds of one forward+backward, and the FLOPs of one forward."""
    def step():
        block(x).sum().backward()
        if x.is_cuda:
            torch.cuda.synchronize()

    with FlopCounterMode(display=False) as counter:
        block(x)
    return Timer("step()", globals={"step": step}).blocked_autorange(min_run_time=1.0).median, counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sides", type=int, nargs="+", default=[14, 28, 56])
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"device {args.device}, channels {args.channels}, batch {args.batch}, torch {torch.__version__}")
    print(f"{'side':>5} {'pixels':>7} {'sagan ms':>9} {'efficient ms':>13} {'time ratio':>11} {'flop ratio':>11}")
    for side in args.sides:
        x = torch.randn(args.batch, args.channels, side, side, device=args.device)
        sagan_s, sagan_flops = measure(SelfAttention2d(channels=args.channels).to(args.device), x)
        eff_s, eff_flops = measure(EfficientAttention2d(channels=args.channels).to(args.device), x)
        print(f"{side:>5} {side * side:>7} {sagan_s * 1e3:>9.2f} {eff_s * 1e3:>13.2f} {sagan_s / eff_s:>11.1f} {sagan_flops / eff_flops:>11.1f}")


if __name__ == "__main__":
    main()
