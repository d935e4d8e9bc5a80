"""Adversarial losses and gradient penalties under one convention.

The discriminator outputs a logit per image; higher means "more real". Every loss
is a pair (``d_loss(real_logits, fake_logits)``, ``g_loss(fake_logits, real_logits)``)
returning scalar means; a penalty is ``penalty(discriminator=, real=, fake=)``
returning its weighted scalar, added to the discriminator's loss.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from ganparts.hookspecs import hookimpl


def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    return -fake_logits.mean()


def ns_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    # -log sigmoid(r) - log(1 - sigmoid(f)), written stably with softplus.
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def ns_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    return F.softplus(-fake_logits).mean()


def wasserstein_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    return fake_logits.mean() - real_logits.mean()


def wasserstein_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    return -fake_logits.mean()


def lsgan_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    # Mao et al. 2017 with targets real = 1, fake = 0 (a=0, b=c=1).
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def lsgan_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def gradient_penalty(discriminator: nn.Module, real: Tensor, fake: Tensor, *, target: float = 1.0) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(‖∇D(x̂)‖₂ − target)²] at per-sample
    random interpolates x̂ between real and fake images (unweighted)."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = torch.lerp(fake.detach(), real.detach(), alpha).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - target) ** 2).mean()


@dataclass(frozen=True)
class Penalty:
    """A weighted regulariser of the discriminator, called once per D step.

    Attributes:
        fn: ``fn(discriminator, real, fake)`` → an unweighted scalar.
        weight: what the trainer multiplies it by before adding it to D's loss.
        name: how ``ganparts build`` lists it (default: ``fn``'s name).
        input_gradients: whether it differentiates D with respect to its input images
            (R1, WGAN-GP). fp16 training refuses those: the inner gradient gets no loss
            scaling. Declare False only for a penalty that never does (e.g. on logits).
    """

    fn: Callable[..., Tensor]
    weight: float
    name: str = ""
    input_gradients: bool = True

    def __call__(self, *, discriminator: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        return self.weight * self.fn(discriminator, real, fake)

    @property
    def label(self) -> str:
        return self.name or getattr(self.fn, "__name__", type(self.fn).__name__)


@dataclass(frozen=True)
class AdversarialLoss:
    """A D/G loss pair, plus any penalty the loss itself implies (WGAN-GP's)."""

    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor, Tensor | None], Tensor]
    penalties: tuple[Penalty, ...] = field(default=())
    # Relativistic losses compare fakes with reals in the G step too.
    g_needs_real_logits: bool = False

    @property
    def input_gradients(self) -> bool:
        """Whether training with this loss differentiates D with respect to its input (a penalty it carries does)."""
        return any(p.input_gradients for p in self.penalties)


def build_objective(spec, registry) -> tuple[AdversarialLoss, tuple[Penalty, ...]]:
    """The loss an :class:`~ganparts.spec.experiment.Experiment` trains with, and every penalty
    added to D's loss: the loss's own (e.g. wgan-gp's gradient penalty), then ``spec.penalties``."""
    loss = registry.create("loss", spec.loss)
    extra = tuple(_named(registry.create("penalty", p), p.kind) for p in spec.penalties)
    return loss, loss.penalties + extra


def _named(penalty: Penalty, name: str) -> Penalty:
    """A spec's penalty is listed by its registered name unless its builder named it."""
    return dataclasses.replace(penalty, name=name) if isinstance(penalty, Penalty) and not penalty.name else penalty


class _LossSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HingeSpec(_LossSpec):
    """Hinge loss (SAGAN, BigGAN)."""

    kind: Literal["hinge"] = "hinge"


class NonSaturatingSpec(_LossSpec):
    """Non-saturating loss (Goodfellow et al. 2014), softplus form."""

    kind: Literal["ns"] = "ns"


class WganGpSpec(_LossSpec):
    """Wasserstein loss with gradient penalty (Gulrajani et al. 2017)."""

    kind: Literal["wgan-gp"] = "wgan-gp"
    gp_weight: float = Field(10.0, ge=0, description="λ, the gradient-penalty weight")


class LeastSquaresSpec(_LossSpec):
    """Least-squares loss (Mao et al. 2017)."""

    kind: Literal["lsgan"] = "lsgan"


class GradientPenaltySpec(BaseModel):
    """WGAN-GP gradient penalty at real/fake interpolates, for any loss."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["gp"] = "gp"
    weight: float = Field(10.0, gt=0)
    target: float = Field(1.0, gt=0, description="gradient norm the penalty pulls towards")


@hookimpl
def ganparts_register(registry):
    registry.register("loss", spec=HingeSpec, builder=lambda s: AdversarialLoss(hinge_d_loss, hinge_g_loss))
    registry.register("loss", spec=NonSaturatingSpec, builder=lambda s: AdversarialLoss(ns_d_loss, ns_g_loss))
    registry.register(
        "loss",
        spec=WganGpSpec,
        builder=lambda s: AdversarialLoss(
            wasserstein_d_loss,
            wasserstein_g_loss,
            penalties=(Penalty(gradient_penalty, s.gp_weight, name="gp"),) if s.gp_weight else (),
        ),
    )
    registry.register("loss", spec=LeastSquaresSpec, builder=lambda s: AdversarialLoss(lsgan_d_loss, lsgan_g_loss))
    registry.register(
        "penalty",
        spec=GradientPenaltySpec,
        builder=lambda s: Penalty(lambda d, real, fake: gradient_penalty(d, real, fake, target=s.target), s.weight),
    )
