"""SAGAN on MNIST written the way a from-scratch script would: no ganparts, plain PyTorch.

The reference for table 1 (framework overhead). Same architecture as ganparts' ``dcgan``
family with one SAGAN block at 14×14 in each network, spectral norm everywhere, hinge
loss, fused Adam (TTUR), reals and fakes through D in one call, EMA generator — so ``load_from(trainer)`` can copy a Trainer's weights
in and both do the same arithmetic (tests/test_benchmarks.py checks they train to the same
weights). The attention block is the widely copied one (query/key/value 1×1 convs, two
``bmm`` and a softmax); ``fused=True`` computes the three projections as one matrix
product instead, as ganparts does, to isolate pure framework overhead.
"""

from __future__ import annotations

import copy
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class SelfAttn(nn.Module):
    def __init__(self, c: int, fused: bool):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(()))
        self.query, self.key = nn.Conv2d(c, c // 8, 1, bias=False), nn.Conv2d(c, c // 8, 1, bias=False)
        self.value = nn.Conv2d(c, c, 1, bias=False)
        self.fused = fused

    def forward(self, x):
        b, c, h, w = x.shape
        if self.fused:
            weight = torch.cat([self.query.weight, self.key.weight, self.value.weight]).flatten(1)
            q, k, v = torch.matmul(weight, x.flatten(2)).split([c // 8, c // 8, c], dim=1)
        else:
            q, k, v = self.query(x).flatten(2), self.key(x).flatten(2), self.value(x).flatten(2)
        attn = torch.softmax(torch.bmm(q.permute(0, 2, 1), k), dim=-1)
        return x + self.gamma * torch.bmm(v, attn.permute(0, 2, 1)).view(b, c, h, w)


def sn_all(net: nn.Module) -> nn.Module:
    for m in list(net.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            spectral_norm(m)
    return net


def generator(z_dim: int, w: int, fused: bool) -> nn.Module:
    return sn_all(nn.Sequential(
        nn.Sequential(nn.Linear(z_dim, 4 * w * 49), nn.Unflatten(1, (4 * w, 7, 7)), nn.BatchNorm2d(4 * w), nn.ReLU()),
        nn.Sequential(nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.ReLU()),
        SelfAttn(2 * w, fused),
        nn.Sequential(nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU()),
        nn.Sequential(nn.Conv2d(w, 1, 3, padding=1), nn.Tanh()),
    ))


def discriminator(w: int, fused: bool) -> nn.Module:
    return sn_all(nn.Sequential(
        nn.Sequential(nn.Conv2d(1, w, 3, padding=1), nn.LeakyReLU(0.1)),
        nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.1)),
        SelfAttn(2 * w, fused),
        nn.Sequential(nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(0.1)),
        nn.Sequential(nn.Flatten(), nn.Linear(4 * w * 49, 1), nn.Flatten(0)),
    ))


class PlainSAGAN:
    """The networks, optimisers and training loop; ``images`` in [-1, 1], shaped N×1×28×28."""

    def __init__(self, images, *, z_dim=128, width=32, batch_size=64, g_lr=1e-4, d_lr=4e-4, ema_decay=0.999, fused=False):
        self.G, self.D = generator(z_dim, width, fused), discriminator(width, fused)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=g_lr, betas=(0.0, 0.9), fused=True)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=d_lr, betas=(0.0, 0.9), fused=True)
        self.images, self.z_dim, self.batch_size, self.ema_decay = images, z_dim, batch_size, ema_decay
        self.step, self.losses = 0, []

    def train(self, steps: int) -> float:
        """Train ``steps`` steps; returns seconds per step."""
        start = time.perf_counter()
        for _ in range(steps):
            real = self.images[torch.randint(len(self.images), (self.batch_size,))]
            with torch.no_grad():
                fake = self.G(torch.randn(self.batch_size, self.z_dim))
            real_logits, fake_logits = self.D(torch.cat([real, fake])).split(self.batch_size)
            d_loss = F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
            self.opt_d.zero_grad()
            d_loss.backward()
            self.opt_d.step()

            self.D.requires_grad_(False)
            g_loss = -self.D(self.G(torch.randn(self.batch_size, self.z_dim))).mean()
            self.opt_g.zero_grad()
            g_loss.backward()
            self.opt_g.step()
            self.D.requires_grad_(True)

            self.step += 1
            decay = min(self.ema_decay, (1 + self.step) / (10 + self.step))
            with torch.no_grad():
                for e, p in zip(self.G_ema.parameters(), self.G.parameters()):
                    e.lerp_(p, 1 - decay)
                for e, b in zip(self.G_ema.buffers(), self.G.buffers()):
                    e.copy_(b)
            if self.step % 10 == 0:
                self.losses.append((self.step, d_loss.item(), g_loss.item()))
        return (time.perf_counter() - start) / steps

    @classmethod
    def like(cls, trainer, *, fused: bool) -> "PlainSAGAN":
        """The same networks, hyper-parameters, data and weights as a ganparts Trainer."""
        spec = trainer.spec
        net = cls(
            trainer.images, z_dim=spec.model.z_dim, width=spec.model.generator.width, batch_size=spec.data.batch_size,
            g_lr=spec.optim.g_lr, d_lr=spec.optim.d_lr, ema_decay=spec.train.ema_decay, fused=fused,
        )
        net.load_from(trainer)
        return net

    def load_from(self, trainer) -> None:
        """Copy a ganparts Trainer's generator, EMA generator and discriminator in (same layout, same order)."""
        for mine, theirs in ((self.G, trainer.generator), (self.G_ema, trainer.ema.shadow), (self.D, trainer.discriminator)):
            source, target = list(theirs.state_dict().values()), mine.state_dict()
            assert [t.shape for t in source] == [t.shape for t in target.values()], "architectures differ"
            mine.load_state_dict(dict(zip(target, source)))
