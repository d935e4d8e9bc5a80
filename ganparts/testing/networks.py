"""The contracts of norm blocks and of generator/discriminator families, checked:
:func:`check_norm` and :func:`check_family`."""

from __future__ import annotations

import torch
from torch import nn

from ganparts.blocks.attention import record_attention
from ganparts.data.images import image_shape
from ganparts.errors import one_line
from ganparts.spec.registry import Registry
from ganparts.testing.build import (
    BlockLike, block_data, block_spec, forward_backward, keeps_rng, missing_gradients, narrowest, networks, on_meta,
    registry_or_default, tiny_experiment, weight_layers, without_spectral_norm,
)
from ganparts.testing.results import CheckResult, Checks, Skip

NORM_CHANNELS = (3, 8, 16)  # an odd count too: a norm must not assume divisibility


@keeps_rng
def check_norm(
    block: BlockLike, *, registry: Registry | None = None, family: str = "dcgan", raise_on_failure: bool = True
) -> list[CheckResult]:
    """Check a norm block: it builds for 3, 8 and 16 channels, keeps ``(b, channels, x, y)`` in
    training and eval mode with finite values, passes gradients to its input, lets gradients
    reach every weight of ``family``'s generator and discriminator with and without spectral
    norm, builds on the meta device, and its
    state dict (running statistics included) round-trips. Arguments as for
    :func:`~ganparts.testing.check_attention_block`."""
    registry = registry_or_default(registry)
    entry, spec = block_spec("norm", block, registry)
    checks = Checks(f"norm:{entry.name}")
    built: dict[int, nn.Module] = {}
    with checks.run("builds"):
        for channels in NORM_CHANNELS:
            try:
                built[channels] = registry.create("norm", spec, channels=channels)
            except Exception as err:  # noqa: BLE001 — which channel count failed is the news
                raise AssertionError(f"at {channels} channels: {one_line(err)}") from err
            assert isinstance(built[channels], nn.Module), f"the builder returned {type(built[channels]).__name__}, not an nn.Module"
    if not checks.passed("builds"):
        return checks.finish(raise_on_failure)
    with checks.run("builds on the meta device"), on_meta():
        registry.create("norm", spec, channels=8)
    torch.manual_seed(0)

    with checks.run("keeps the shape"):
        for channels, module in built.items():
            for mode in ("train", "eval"):
                getattr(module, mode)()
                x = torch.randn(4, channels, 7, 7)
                y = module(x)
                assert y.shape == x.shape, f"{channels} channels, {mode} mode: it maps {tuple(x.shape)} to {tuple(y.shape)}"
                assert torch.isfinite(y).all(), f"{channels} channels, {mode} mode: the output is not finite"

    with checks.run("gradients reach the input"):
        module = built[8].train()
        x = torch.randn(4, 8, 7, 7, requires_grad=True)
        y = module(x)
        assert y.requires_grad, "its output does not depend on its input differentiably (detached?); gradients cannot pass"
        (y * torch.randn(4, 8, 7, 7)).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0, "no finite, non-zero gradient reaches the input"

    for sn in (True, False):
        with checks.run(f"forward and backward in G and D, spectral norm {'on' if sn else 'off'}"):
            data = {"norm": spec.model_dump(), "spectral_norm": sn}
            if "norm" not in registry.get("generator", family).spec.model_fields:
                raise Skip(f"the {family} family has no norm field")
            experiment, generator, discriminator = narrowest(registry, family=family, generator=data, discriminator=data)
            forward_backward(generator, discriminator, experiment)
            missing = missing_gradients(generator, discriminator)
            assert not missing, f"no finite gradient reaches {', '.join(missing[:4])}"

    with checks.run("state dict round trip"):
        torch.manual_seed(1)
        original = registry.create("norm", spec, channels=8).train()
        with torch.no_grad():
            for _ in range(3):  # running statistics, if it keeps any
                original(torch.randn(4, 8, 7, 7) * 3 + 1)
            for p in original.parameters():
                p.add_(torch.randn_like(p) * 0.1)
        copy = registry.create("norm", spec, channels=8)
        copy.load_state_dict(original.state_dict())
        x = torch.randn(4, 8, 7, 7)
        with torch.no_grad():
            gap = (original.eval()(x) - copy.eval()(x)).abs().max().item()
        assert gap <= 1e-5, f"a copy loaded from its state dict differs by up to {gap:.3g} in eval mode"
    return checks.finish(raise_on_failure)


@keeps_rng
def check_family(
    block: BlockLike, *, registry: Registry | None = None, raise_on_failure: bool = True
) -> list[CheckResult]:
    """Check a generator/discriminator family (whichever of the two it registers) at tiny width.

    Checks: it builds; G maps ``(b, z_dim)`` to images ``(b, *image_shape)`` in [-1, 1] and
    keeps ``z_dim``; D maps images to ``(b,)`` finite logits; spectral norm on reaches every
    conv/linear layer and off reaches none; an attention block asked for at each resolution in
    ``resolutions`` is built and runs on a feature map of that size; gradients reach every
    weight; the state dict round-trips; an image size it cannot make raises ``ValueError``.
    """
    registry = registry_or_default(registry)
    name = block_data(block).get("kind", "")
    kinds = [k for k in ("generator", "discriminator") if name in registry.list(k)]
    if not kinds:
        registry.get("generator", name)  # the registry's own "unknown generator …; allowed: …" error
    checks = Checks(f"{'/'.join(kinds)}:{name}")
    fields = {k: _family_fields(block, k) for k in kinds}
    experiment = None
    with checks.run("builds"):
        experiment = tiny_experiment(registry, generator=fields.get("generator"), discriminator=fields.get("discriminator"))
        generator, discriminator = networks(experiment, registry)
    if experiment is None:
        return checks.finish(raise_on_failure)
    shape = image_shape(experiment.data.source, registry)
    z_dim = experiment.model.z_dim
    with checks.run("builds on the meta device"), on_meta():
        _build(registry, fields, kinds, spectral_norm=False)
    torch.manual_seed(0)

    if "generator" in kinds:
        with checks.run("generator output"):
            images = generator(torch.randn(3, z_dim))
            assert images.shape == (3, *shape), f"G made {tuple(images.shape)} from (3, {z_dim}); expected (3, {', '.join(map(str, shape))})"
            assert images.abs().max().item() <= 1, "G's images leave [-1, 1] (end with tanh)"
            assert getattr(generator, "z_dim", None) == z_dim, f"the generator's z_dim attribute is {getattr(generator, 'z_dim', None)}, not {z_dim}"
    if "discriminator" in kinds:
        with checks.run("discriminator output"):
            logits = discriminator(torch.rand(3, *shape) * 2 - 1)
            assert logits.shape == (3,), f"D returned {tuple(logits.shape)} for 3 images; expected (3,): one logit each"
            assert torch.isfinite(logits).all(), "D's logits are not finite"

    for sn in (True, False):
        with checks.run(f"spectral norm {'on' if sn else 'off'}"):
            nets = _build(registry, fields, kinds, spectral_norm=sn)
            for kind, net in nets.items():
                bare = without_spectral_norm(net)
                normed = [n for n in weight_layers(net) if n not in bare]
                if sn:
                    assert not bare, f"spectral_norm: true, but these {kind} layers have none: {', '.join(bare[:4])}; call maybe_spectral_norm(self, spec.spectral_norm) last"
                else:
                    assert not normed, f"spectral_norm: false, but these {kind} layers have it: {', '.join(normed[:4])}"

    with checks.run("attention at every resolution"):
        for kind in kinds:
            sides = registry.get(kind, name).spec.resolutions
            if not sides:
                raise Skip(f"the {kind} spec lists no resolutions, so no attention can be placed")
            net = _build(registry, fields, [kind], attention=[{"kind": "sagan", "resolution": r} for r in sides])[kind]
            inputs = torch.randn(2, z_dim) if kind == "generator" else torch.rand(2, *shape) * 2 - 1
            with torch.no_grad(), record_attention(net) as maps:
                net(inputs)
            assert len(maps) == len(sides), f"the {kind} ran {len(maps)} attention blocks for {len(sides)} resolutions {sides}"
            # Each block's queries are the pixels of the feature map it sits on.
            got = sorted(round(found.map.shape[2] ** 0.5) for found in maps.values())
            assert got == sorted(sides), f"the {kind}'s attention blocks ran at {got}, not at the resolutions asked for {sorted(sides)}"

    with checks.run("gradients reach every weight"):
        generator, discriminator = networks(experiment, registry)
        forward_backward(generator, discriminator, experiment)
        missing = missing_gradients(*(net for kind, net in (("generator", generator), ("discriminator", discriminator)) if kind in kinds))
        assert not missing, f"no finite gradient reaches {', '.join(missing[:4])}"

    with checks.run("state dict round trip"):
        torch.manual_seed(1)
        first = _build(registry, fields, kinds)
        torch.manual_seed(2)
        second = _build(registry, fields, kinds)
        for kind in kinds:
            second[kind].load_state_dict(first[kind].state_dict())
            inputs = torch.randn(2, z_dim) if kind == "generator" else torch.rand(2, *shape) * 2 - 1
            with torch.no_grad():
                gap = (first[kind].eval()(inputs) - second[kind].eval()(inputs)).abs().max().item()
            assert gap <= 1e-5, f"a {kind} loaded from another's state dict differs by up to {gap:.3g}"

    with checks.run("an image size it cannot make raises ValueError"):
        odd = (shape[0], shape[1] + 1, shape[2] + 1)
        for kind in kinds:
            try:
                net = registry.create(kind, getattr(experiment.model, kind), image_shape=odd, registry=registry, **({"z_dim": z_dim} if kind == "generator" else {}))
            except ValueError:
                continue
            if kind == "generator":  # it builds: then it must make that size
                made = net(torch.randn(1, z_dim)).shape
                assert made[1:] == odd, f"built for {odd} but made {tuple(made[1:])}; raise ValueError for sizes the family cannot make"
    return checks.finish(raise_on_failure)


def _family_fields(block: BlockLike, kind: str) -> dict:
    data = block_data(block)
    return {k: v for k, v in data.items() if k not in ("generator", "discriminator")} | data.get(kind, {})


def _build(registry: Registry, fields: dict, kinds: list[str], **extra) -> dict[str, nn.Module]:
    experiment = tiny_experiment(registry, **{k: fields[k] | extra for k in kinds})
    generator, discriminator = networks(experiment, registry)
    return {k: net for k, net in (("generator", generator), ("discriminator", discriminator)) if k in kinds}
