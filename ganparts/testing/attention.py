"""The contract of an attention block, checked: :func:`check_attention_block`."""

from __future__ import annotations

import torch
from torch import nn

from ganparts.blocks.attention import AttentionBlock, record_attention
from ganparts.blocks.norm import maybe_spectral_norm
from ganparts.spec.registry import Registry
from ganparts.testing.build import (
    BlockLike, block_spec, forward_backward, keeps_rng, missing_gradients, narrowest, on_meta, raw_weights,
    registry_or_default, without_spectral_norm,
)
from ganparts.testing.results import CheckResult, Checks, Note, Skip

CHANNELS = 16  # divisible by the usual heads and key ratios; 2 query/key channels at key_ratio 8
SIDES = (7, 14, 28)


@keeps_rng
def check_attention_block(
    block: BlockLike, *, registry: Registry | None = None, family: str = "dcgan", raise_on_failure: bool = True
) -> list[CheckResult]:
    """Check an attention block against the contract in docs/plugins.md.

    Args:
        block: the registered name (``"axial"``), or its spec as data or as a model instance
            (to check other settings than the defaults, e.g. ``{"kind": "axial", "heads": 2}``).
        registry: where the block is registered (default: the process-wide one, with every
            installed plugin).
        family: the generator/discriminator family to place it in at every resolution.
        raise_on_failure: raise :class:`~ganparts.testing.ContractError` naming every failed
            check (what a test wants); False returns the results only (``plugins --check``).

    Returns:
        one :class:`~ganparts.testing.CheckResult` per check: it builds; keeps the shape at
        7, 14 and 28 pixels; gamma starts at 0 and the block is then the identity; inside
        ``record_attention`` it records one map whose rows sum to 1, over the block's own
        pixels, without changing its output; gradients reach every weight of the generator and
        the discriminator with it at every resolution, with and without spectral norm; and its
        state dict round-trips.
    """
    registry = registry_or_default(registry)
    entry, spec = block_spec("attention", block, registry, resolution=SIDES[0])
    checks = Checks(f"attention:{entry.name}")
    built: dict[int, nn.Module] = {}
    with checks.run("builds"):
        for side in SIDES:
            built[side] = registry.create("attention", spec.model_copy(update={"resolution": side}), channels=CHANNELS)
            assert isinstance(built[side], nn.Module), f"the builder returned {type(built[side]).__name__}, not an nn.Module"
    if not checks.passed("builds"):
        return checks.finish(raise_on_failure)
    with checks.run("builds on the meta device"), on_meta():
        registry.create("attention", spec.model_copy(update={"resolution": SIDES[1]}), channels=CHANNELS)
    torch.manual_seed(0)

    with checks.run("keeps the shape"):
        for side, module in built.items():
            x = torch.randn(2, CHANNELS, side, side)
            y = module(x)
            assert y.shape == x.shape, f"at {side}×{side} it maps {tuple(x.shape)} to {tuple(y.shape)}; attention must keep (b, channels, x, y)"
            assert torch.isfinite(y).all(), f"at {side}×{side} its output is not finite"

    module = built[SIDES[1]]
    x = torch.randn(2, CHANNELS, SIDES[1], SIDES[1])
    is_attention_block = isinstance(module, AttentionBlock)
    not_attention = "not an AttentionBlock (no gamma, no map): left out of attention pictures and gamma curves"
    with checks.run("gamma starts at 0"):
        if not is_attention_block:
            raise Skip(not_attention)
        gamma = module.gamma
        assert isinstance(gamma, nn.Parameter) and gamma.numel() == 1, "gamma must be the scalar nn.Parameter AttentionBlock creates"
        assert gamma.item() == 0, f"gamma starts at {gamma.item():g}, not 0: a new block must start as the identity (return x + self.gamma * out)"

    with checks.run("identity at gamma 0"):
        if not is_attention_block:
            raise Skip(not_attention)
        with torch.no_grad():
            module.gamma.zero_()
            gap = (module(x) - x).abs().max().item()
        assert gap <= 1e-6, f"with gamma = 0 the output differs from the input by up to {gap:.3g}; return x + self.gamma * out"

    maps = _check_maps(checks, module, x, is_attention_block)
    with checks.run("same output while recording"):
        if maps is None:
            raise Skip("no map to record")
        with torch.no_grad():
            module.gamma.fill_(0.5)
            plain = module(x)
            with record_attention(module):
                recorded = module(x)
        gap = (plain - recorded).abs().max().item()
        assert gap <= 1e-4 * max(1.0, plain.abs().max().item()), (
            f"recording changes the output by up to {gap:.3g}; the map for keep_map must come from the same computation"
        )

    for sn in (True, False):
        _check_in_networks(checks, registry, spec, family, sn)
    _check_round_trip(checks, registry, spec)
    return checks.finish(raise_on_failure)


def _check_maps(checks: Checks, module: nn.Module, x: torch.Tensor, is_attention_block: bool):
    """Records one map, rows summing to 1, over the block's own pixels; returns the map or None."""
    found = None
    with checks.run("records its map"):
        if not is_attention_block:
            raise Skip("not an AttentionBlock: it has no map over pixels")
        with torch.no_grad(), record_attention(module) as maps:
            module(x)
        assert len(maps) == 1, (
            "recorded no map inside record_attention; when self.recording is true, call self.keep_map(attn, key_grid)"
            if not maps else f"recorded {len(maps)} maps for one block"
        )
        found = next(iter(maps.values()))
    with checks.run("map grid"):
        if found is None:
            raise Skip("no map recorded")
        b, heads, n, m = found.map.shape
        rows, cols = found.key_grid
        side = x.shape[-1]
        assert b == x.shape[0], f"the map has batch {b}, the input {x.shape[0]}"
        assert n == side * side, f"the map has {n} query rows; a {side}×{side} feature map has {side * side} pixels, one query each"
        assert m == rows * cols, f"{m} keys do not fill the key grid {rows}×{cols}"
    with checks.run("map rows sum to 1"):
        if found is None:
            raise Skip("no map recorded")
        sums = found.map.sum(-1)
        low, high = sums.min().item(), sums.max().item()
        assert abs(low - 1) <= 1e-4 and abs(high - 1) <= 1e-4, (
            f"the rows of the map sum to between {low:.3g} and {high:.3g}, not 1: "
            "each query's weights over the keys must be normalised (a softmax over keys)"
        )
        assert found.map.min().item() >= -1e-6, "the map has negative weights"
    return found


def _check_in_networks(checks: Checks, registry: Registry, spec, family: str, sn: bool) -> None:
    name = f"forward and backward in G and D at every resolution, spectral norm {'on' if sn else 'off'}"
    with checks.run(name):
        g_res = registry.get("generator", family).spec.resolutions
        d_res = registry.get("discriminator", family).spec.resolutions
        place = lambda sides: [spec.model_dump() | {"resolution": r} for r in sides]  # noqa: E731
        experiment, generator, discriminator = narrowest(
            registry, family=family,
            generator={"spectral_norm": sn, "attention": place(g_res)},
            discriminator={"spectral_norm": sn, "attention": place(d_res)},
        )
        for network, sides in ((generator, g_res), (discriminator, d_res)):
            placed = [m for m in network.modules() if _is_attention(m)]
            assert len(placed) == len(sides), f"{len(sides)} blocks asked for, {len(placed)} built"
        forward_backward(generator, discriminator, experiment)
        missing = missing_gradients(generator, discriminator)
        assert not missing, f"no finite gradient reaches {', '.join(missing[:4])}"
        if sn:
            # Not failures: the network applies spectral norm to the layer types it knows, and
            # what a block keeps outside them is its author's choice — one they should know of.
            blocks = [m for m in generator.modules() if _is_attention(m)]
            bare = sorted({n for b in blocks for n in without_spectral_norm(b)} | {n for b in blocks for n in raw_weights(b)})
            if bare:
                raise Note(f"these weights get no spectral norm: {', '.join(bare)}")


def _is_attention(module: nn.Module) -> bool:
    entry = getattr(module, "ganparts_entry", None)
    return entry is not None and entry.kind == "attention"


def _check_round_trip(checks: Checks, registry: Registry, spec) -> None:
    with checks.run("state dict round trip"):
        for sn in (False, True):
            torch.manual_seed(1)
            original = maybe_spectral_norm(registry.create("attention", spec.model_copy(update={"resolution": 14}), channels=CHANNELS), sn)
            with torch.no_grad():
                for p in original.parameters():
                    p.add_(torch.randn_like(p) * 0.1)  # gamma away from 0, so the attention shows in the output
            torch.manual_seed(2)
            copy = maybe_spectral_norm(registry.create("attention", spec.model_copy(update={"resolution": 14}), channels=CHANNELS), sn)
            copy.load_state_dict(original.state_dict())
            x = torch.randn(2, CHANNELS, 14, 14)
            original.eval(), copy.eval()
            with torch.no_grad():
                gap = (original(x) - copy(x)).abs().max().item()
            assert gap <= 1e-5, f"a copy loaded from its state dict{' (with spectral norm)' if sn else ''} differs by up to {gap:.3g}"
