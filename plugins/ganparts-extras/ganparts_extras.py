"""ganparts-extras: four GAN blocks that plug into ganparts through its entry point.

- attention ``efficient``: efficient attention (Shen et al. 2021, arXiv:1812.01243),
  linear in the number of pixels instead of quadratic;
- attention ``se``: squeeze-and-excitation channel attention (Hu et al. 2018, arXiv:1709.01507);
- loss ``rahinge``: relativistic average hinge loss (Jolicoeur-Martineau 2018, arXiv:1807.00734);
- penalty ``r1``: the R1 gradient penalty on real images (Mescheder et al. 2018, arXiv:1801.04406).

Axis legend used in the einops patterns below:
    b batch · h heads · x, y spatial · n query positions (x·y) · m key positions
    d query/key channels per head · e value channels per head
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from einops import einsum, rearrange
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from ganparts.blocks.attention import AttentionBlock, AttentionSpec
from ganparts.hookspecs import hookimpl
from ganparts.blocks.losses import AdversarialLoss, Penalty

# --- attention ---------------------------------------------------------------------


class EfficientAttention2d(AttentionBlock):
    """Efficient attention: ``x + gamma · ρq(Q) (ρk(K)ᵀ V)``, O(n) in the pixels n.

    ρq is a softmax over each query's channels and ρk a softmax over the positions of
    each key channel. Multiplying ``ρk(K)ᵀ V`` first gives a d×e context per head, so no
    n×n map is formed; the map it implies, ``ρq(Q) ρk(K)ᵀ``, has rows that sum to one
    and is computed only while recording, for pictures. Projections are SAGAN's paper
    form (query/key C/key_ratio, value C, no output conv), so ``efficient`` and
    ``sagan`` differ only in how attention is normalised.
    """

    def __init__(self, *, channels: int, heads: int = 1, key_ratio: int = 8) -> None:
        super().__init__()
        inner = channels // key_ratio
        if inner < heads or inner % heads or channels % heads:
            raise ValueError(
                f"efficient attention at {channels} channels: query/key channels ({inner}) and value channels "
                f"({channels}) must be positive multiples of heads ({heads}); widen the network or use fewer heads"
            )
        self.heads = heads
        self.query = nn.Conv2d(channels, inner, 1, bias=False)
        self.key = nn.Conv2d(channels, inner, 1, bias=False)
        self.value = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        side = x.shape[-2]
        q = rearrange(self.query(x), "b (h d) x y -> b h (x y) d", h=self.heads).softmax(dim=-1)
        k = rearrange(self.key(x), "b (h d) x y -> b h (x y) d", h=self.heads).softmax(dim=-2)
        v = rearrange(self.value(x), "b (h e) x y -> b h (x y) e", h=self.heads)
        context = einsum(k, v, "b h m d, b h m e -> b h d e")
        out = einsum(q, context, "b h n d, b h d e -> b h n e")
        if self.recording:
            self.keep_map(einsum(q, k, "b h n d, b h m d -> b h n m"), (side, x.shape[-1]))
        return x + self.gamma * rearrange(out, "b h (x y) e -> b (h e) x y", x=side)


class SqueezeExcite2d(nn.Module):
    """Channel attention: ``x · σ(W₂ relu(W₁ mean_xy(x)))``, each channel reweighted by global context.

    It has no map over pixels, so it is a plain module rather than an ``AttentionBlock``:
    ganparts' attention pictures and gamma curves leave it out.
    """

    def __init__(self, *, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.excite = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, channels, 1), nn.Sigmoid()
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.excite(x.mean(dim=(-2, -1), keepdim=True))


class EfficientAttentionSpec(AttentionSpec):
    """Efficient attention (Shen et al. 2021): linear in pixels, SAGAN's projections."""

    kind: Literal["efficient"] = "efficient"
    heads: int = Field(1, gt=0)
    key_ratio: int = Field(8, gt=0, description="query/key channels = C // key_ratio")


class SqueezeExciteSpec(AttentionSpec):
    """Squeeze-and-excitation channel attention (Hu et al. 2018)."""

    kind: Literal["se"] = "se"
    reduction: int = Field(16, gt=0, description="hidden channels = max(1, C // reduction)")


# --- loss and penalty --------------------------------------------------------------


def rahinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """E_r[relu(1 − (D(r) − E_f D(f)))] + E_f[relu(1 + (D(f) − E_r D(r)))]."""
    return F.relu(1 - (real_logits - fake_logits.mean())).mean() + F.relu(1 + (fake_logits - real_logits.mean())).mean()


def rahinge_g_loss(fake_logits: Tensor, real_logits: Tensor | None) -> Tensor:
    """The discriminator's loss with real and fake swapped: G wants fakes to look more real than reals."""
    if real_logits is None:
        raise ValueError("the relativistic average hinge loss needs D's logits on real images in the G step")
    return rahinge_d_loss(fake_logits, real_logits)


def r1_penalty(discriminator: nn.Module, real: Tensor, fake: Tensor | None = None) -> Tensor:
    """E‖∇ₓD(x)‖² over real images x (unweighted; R1 weighs it by γ/2)."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(real).sum(), real, create_graph=True)
    return grad.square().flatten(1).sum(dim=1).mean()


class RaHingeSpec(BaseModel):
    """Relativistic average hinge loss (Jolicoeur-Martineau 2018)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["rahinge"] = "rahinge"


class R1Spec(BaseModel):
    """R1 gradient penalty on real images (Mescheder et al. 2018): γ/2 · E‖∇D(x_real)‖²."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["r1"] = "r1"
    gamma: float = Field(10.0, gt=0, description="γ, the penalty weight (the penalty is γ/2 · E‖∇D‖²)")


# --- registration ------------------------------------------------------------------


@hookimpl
def ganparts_register(registry):
    registry.register(
        "attention",
        spec=EfficientAttentionSpec,
        builder=lambda s, *, channels: EfficientAttention2d(channels=channels, heads=s.heads, key_ratio=s.key_ratio),
    )
    registry.register("attention", spec=SqueezeExciteSpec, builder=lambda s, *, channels: SqueezeExcite2d(channels=channels, reduction=s.reduction))
    registry.register("loss", spec=RaHingeSpec, builder=lambda s: AdversarialLoss(rahinge_d_loss, rahinge_g_loss, g_needs_real_logits=True))
    registry.register("penalty", spec=R1Spec, builder=lambda s: Penalty(r1_penalty, s.gamma / 2))
