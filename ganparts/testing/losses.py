"""The contracts of losses and penalties, checked: :func:`check_loss` and :func:`check_penalty`.

Sign convention: D's logit is higher for "more real". Planted logits make each side's loss
lower when that side is winning.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganparts.blocks.losses import AdversarialLoss
from ganparts.data.images import image_shape
from ganparts.spec.registry import Registry
from ganparts.testing.build import BlockLike, block_spec, keeps_rng, networks, registry_or_default, tiny_experiment
from ganparts.testing.results import CheckResult, Checks, Skip

EXTREME = 1e4  # far past any logit training produces; a log(sigmoid(x)) written naively overflows here


@keeps_rng
def check_loss(block: BlockLike, *, registry: Registry | None = None, raise_on_failure: bool = True) -> list[CheckResult]:
    """Check a loss: it builds an :class:`~ganparts.blocks.losses.AdversarialLoss` whose D and G
    losses are scalars; D's loss is lower when D scores reals above fakes, G's when D scores the
    fakes as real; both and their gradients stay finite at logits of ±1e4; and every penalty it
    carries reaches D's weights. Arguments as for :func:`~ganparts.testing.check_attention_block`."""
    registry = registry_or_default(registry)
    entry, spec = block_spec("loss", block, registry)
    checks = Checks(f"loss:{entry.name}")
    loss = None
    with checks.run("builds"):
        loss = registry.create("loss", spec)
        assert isinstance(loss, AdversarialLoss), f"the builder returned {type(loss).__name__}, not a ganparts.blocks.losses.AdversarialLoss"
    if not isinstance(loss, AdversarialLoss):
        return checks.finish(raise_on_failure)

    def real_for_g(value: float, n: int) -> Tensor | None:
        return torch.full((n,), value) if loss.g_needs_real_logits else None

    with checks.run("scalar losses"):
        real, fake = torch.randn(8), torch.randn(8)
        for side, value in (("d_loss", loss.d_loss(real, fake)), ("g_loss", loss.g_loss(fake, real_for_g(0.0, 8)))):
            assert isinstance(value, Tensor) and value.dim() == 0, f"{side} returned {_shape(value)}; it must return a scalar mean"

    with checks.run("D's sign"):
        winning = loss.d_loss(torch.full((4,), 1.0), torch.full((4,), -1.0)).item()
        losing = loss.d_loss(torch.full((4,), -1.0), torch.full((4,), 1.0)).item()
        assert winning < losing, (
            f"d_loss is {winning:.4g} when D scores reals +1 and fakes -1, but {losing:.4g} the other way round: "
            "D's loss must be lower when it is right (higher logit = more real; d_loss(real_logits, fake_logits))"
        )

    with checks.run("G's sign"):
        winning = loss.g_loss(torch.full((4,), 1.0), real_for_g(-1.0, 4)).item()
        losing = loss.g_loss(torch.full((4,), -1.0), real_for_g(1.0, 4)).item()
        assert winning < losing, (
            f"g_loss is {winning:.4g} when D scores the fakes +1, but {losing:.4g} when it scores them -1: "
            "G's loss must be lower when D takes its fakes for real (g_loss(fake_logits, real_logits))"
        )

    with checks.run("finite on extreme logits"):
        for r, f in ((EXTREME, -EXTREME), (-EXTREME, EXTREME), (EXTREME, EXTREME), (-EXTREME, -EXTREME)):
            real = torch.full((4,), r, requires_grad=True)
            fake = torch.full((4,), f, requires_grad=True)
            for side, value in (("d_loss", loss.d_loss(real, fake)), ("g_loss", loss.g_loss(fake, real if loss.g_needs_real_logits else None))):
                assert torch.isfinite(value).all(), f"{side} is {value.item()} at real logits {r:g}, fake logits {f:g} (use softplus, not log(sigmoid))"
                grads = torch.autograd.grad(value, [real, fake], allow_unused=True)
                assert all(g is None or torch.isfinite(g).all() for g in grads), f"{side}'s gradient is not finite at real {r:g}, fake {f:g}"

    with checks.run("its penalties reach D"):
        if not loss.penalties:
            raise Skip("the loss carries no penalty")
        for penalty in loss.penalties:
            _reaches_discriminator(penalty, registry, getattr(penalty, "label", "penalty"))
    return checks.finish(raise_on_failure)


@keeps_rng
def check_penalty(block: BlockLike, *, registry: Registry | None = None, raise_on_failure: bool = True) -> list[CheckResult]:
    """Check a penalty: it builds something the trainer can call as
    ``penalty(discriminator=, real=, fake=)``, returning a finite scalar whose gradient reaches
    the discriminator's weights (so the penalty trains D)."""
    registry = registry_or_default(registry)
    entry, spec = block_spec("penalty", block, registry)
    checks = Checks(f"penalty:{entry.name}")
    penalty = None
    with checks.run("builds"):
        penalty = registry.create("penalty", spec)
        assert callable(penalty), f"the builder returned {type(penalty).__name__}, not a ganparts.blocks.losses.Penalty"
    if penalty is None:
        return checks.finish(raise_on_failure)
    with checks.run("reaches D"):
        _reaches_discriminator(penalty, registry, entry.name)
    return checks.finish(raise_on_failure)


def _reaches_discriminator(penalty, registry: Registry, label: str) -> None:
    """Assert that ``penalty`` gives a finite scalar whose gradient reaches D's weights."""
    torch.manual_seed(0)
    experiment = tiny_experiment(registry)
    _, discriminator = networks(experiment, registry)
    shape = image_shape(experiment.data.source, registry)
    real, fake = torch.rand(4, *shape) * 2 - 1, torch.rand(4, *shape) * 2 - 1
    value = penalty(discriminator=discriminator, real=real, fake=fake)
    assert isinstance(value, Tensor) and value.dim() == 0, f"penalty {label} returned {_shape(value)}; it must return a scalar"
    assert torch.isfinite(value), f"penalty {label} is {value.item()}"
    weights = [p for p in discriminator.parameters() if p.requires_grad]
    hint = "build input gradients with torch.autograd.grad(..., create_graph=True) so the penalty trains D"
    assert value.requires_grad, f"penalty {label} does not depend on D's weights; {hint}"
    grads = torch.autograd.grad(value, weights, allow_unused=True)
    reached = sum(g is not None and bool(g.abs().sum() > 0) for g in grads)
    assert reached, f"penalty {label} never reaches D's weights (no gradient on any of them); {hint}"
    assert all(g is None or torch.isfinite(g).all() for g in grads), f"penalty {label} gives D non-finite gradients"


def _shape(value) -> str:
    return f"a tensor of shape {tuple(value.shape)}" if isinstance(value, Tensor) else type(value).__name__

