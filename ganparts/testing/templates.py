"""The files ``ganparts new-plugin`` writes, as :class:`string.Template` texts (``$name``,
``$dist``, ``$module``, ``$Class``, ``$function``, ``$kind``, ``$checker``, ``$other``);
:mod:`ganparts.testing.scaffold` fills them in."""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "A ganparts plugin: the $kind block `$name`"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["ganparts"]

[project.optional-dependencies]
test = ["pytest>=8"]

# This table makes the package a ganparts plugin: plugin name = module to import.
[project.entry-points.ganparts]
$name = "$module"

[tool.setuptools]
py-modules = ["$module"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

MODULES = {
    "attention": '''\
"""$name: a ganparts attention block (self-attention over every pixel, scaled dot product).

Axis legend of the einops patterns: b batch · h heads · x, y spatial · n query positions (x·y)
· m key positions · d query/key channels per head · e value channels per head.
"""

from __future__ import annotations

from typing import Literal

import torch
from einops import rearrange
from pydantic import Field
from torch import nn

from ganparts.blocks.attention import AttentionBlock, AttentionSpec
from ganparts.hookspecs import hookimpl


class ${Class}Attention(AttentionBlock):
    """``x + gamma · softmax(q kᵀ / √d) v`` over all pixels; gamma starts at 0 (the identity)."""

    def __init__(self, *, channels: int, heads: int, key_ratio: int) -> None:
        super().__init__()  # creates self.gamma, a parameter starting at 0
        inner = channels // key_ratio
        if inner < heads or inner % heads or channels % heads:
            # A ValueError is a spec error: ganparts reports it at this block's place in the spec.
            raise ValueError(
                f"$name attention at {channels} channels: query/key channels ({inner}) and value channels "
                f"({channels}) must be positive multiples of heads ({heads}); use fewer heads or a smaller key_ratio"
            )
        self.heads = heads
        # nn.Conv2d layers, so that the networks' spectral norm reaches them.
        self.query = nn.Conv2d(channels, inner, 1, bias=False)
        self.key = nn.Conv2d(channels, inner, 1, bias=False)
        self.value = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        q = rearrange(self.query(x), "b (h d) x y -> b h (x y) d", h=self.heads)
        k = rearrange(self.key(x), "b (h d) x y -> b h (x y) d", h=self.heads)
        v = rearrange(self.value(x), "b (h e) x y -> b h (x y) e", h=self.heads)
        attn = torch.softmax(q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5, dim=-1)  # b h n m, rows sum to 1
        if self.recording:  # a record_attention covers this block: hand it the map, keep nothing
            self.keep_map(attn, (height, width))
        out = rearrange(attn @ v, "b h (x y) e -> b (h e) x y", x=height)
        return x + self.gamma * out


class ${Class}Spec(AttentionSpec):
    """$name: self-attention over every pixel with scaled dot products."""

    kind: Literal["$name"] = "$name"
    heads: int = Field(1, gt=0, description="attention heads")
    key_ratio: int = Field(8, gt=0, description="query/key channels = C // key_ratio")


@hookimpl
def ganparts_register(registry):
    registry.register(
        "attention",
        spec=${Class}Spec,
        builder=lambda spec, *, channels: ${Class}Attention(channels=channels, heads=spec.heads, key_ratio=spec.key_ratio),
    )
''',
    "norm": '''\
"""$name: a ganparts norm block (pixel normalisation: unit RMS feature vector at every pixel)."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ganparts.hookspecs import hookimpl


class ${Class}Norm(nn.Module):
    """Scales each pixel's feature vector to unit root-mean-square over the channels."""

    def __init__(self, *, eps: float) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + self.eps)


class ${Class}Spec(BaseModel):
    """$name: pixel normalisation (unit RMS feature vector at every pixel)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["$name"] = "$name"
    eps: float = Field(1e-8, gt=0, description="added to the mean square before the square root")


@hookimpl
def ganparts_register(registry):
    registry.register("norm", spec=${Class}Spec, builder=lambda spec, *, channels: ${Class}Norm(eps=spec.eps))
''',
    "loss": '''\
"""$name: a ganparts loss (hinge with a chosen margin, optionally carrying a gradient penalty).

Sign convention: D's logit is higher for "more real"; each loss returns a scalar mean.
"""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from ganparts.blocks.losses import AdversarialLoss, Penalty, gradient_penalty
from ganparts.hookspecs import hookimpl


def ${function}_d_loss(real_logits: Tensor, fake_logits: Tensor, *, margin: float) -> Tensor:
    return F.relu(margin - real_logits).mean() + F.relu(margin + fake_logits).mean()


def ${function}_g_loss(fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
    return -fake_logits.mean()


class ${Class}Spec(BaseModel):
    """$name: hinge loss with a chosen margin, optionally with WGAN-GP's gradient penalty."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["$name"] = "$name"
    margin: float = Field(1.0, gt=0, description="logits past ±margin cost D nothing")
    gp_weight: float = Field(0.0, ge=0, description="weight of the gradient penalty this loss carries (0: none)")

    def check_experiment(self, experiment, path):
        """Rules across the whole spec, applied by `ganparts validate`, `train` and the app."""
        if self.gp_weight and any(p.kind == "gp" for p in experiment.penalties):
            return [(f"{path}.gp_weight", "the loss already carries a gradient penalty; drop the 'gp' penalty or set gp_weight: 0")]
        return []


def build(spec: ${Class}Spec) -> AdversarialLoss:
    # A penalty differentiates D with respect to its input unless it declares
    # input_gradients=False; ganparts then refuses fp16 training, which cannot scale that gradient.
    penalties = (Penalty(gradient_penalty, spec.gp_weight, name="gp"),) if spec.gp_weight else ()
    return AdversarialLoss(
        lambda real, fake: ${function}_d_loss(real, fake, margin=spec.margin), ${function}_g_loss, penalties=penalties
    )


@hookimpl
def ganparts_register(registry):
    registry.register("loss", spec=${Class}Spec, builder=build)
''',
}

CHECKERS = {"attention": "check_attention_block", "norm": "check_norm", "loss": "check_loss"}
OTHER_SETTINGS = {"attention": '{"kind": "$name", "heads": 2}', "norm": '{"kind": "$name", "eps": 1e-5}', "loss": '{"kind": "$name", "gp_weight": 10.0}'}

CONFTEST = '''\
"""The train_block fixture (also registered as ganparts' pytest plugin once ganparts is installed)."""

from ganparts.testing import train_block  # noqa: F401 — a pytest fixture, used by name
'''

TESTS = '''\
"""$dist: it loads through its entry point, keeps its block contract, trains, and its example validates."""

from pathlib import Path

from ganparts.plugins import default_registry, plugin_reports
from ganparts.spec.files import load_spec
from ganparts.testing import $checker

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "$name.yaml"


def test_loads_through_its_entry_point():
    (report,) = [r for r in plugin_reports() if r.name == "$name"]
    assert report.status == "loaded", report.reason
    assert report.blocks == {"$kind": ("$name",)} and not report.skipped, report.skipped


def test_keeps_the_${kind}_contract():
    $checker("$name")  # its defaults
    $checker($other)  # other settings


def test_trains_through_the_trainer(train_block):
    trained = train_block("$kind", "$name", steps=2)
    assert trained.trainer.step == 2


def test_the_example_spec_validates():
    spec = load_spec(EXAMPLE, registry=default_registry())
    assert "$name" in spec.model_dump_json()
'''

EXAMPLES = {
    "attention": """\
name: $name-mnist
data: {source: mnist-5k, batch_size: 32}
model:
  generator: {kind: dcgan, width: 16, attention: [{kind: $name, resolution: 14}]}
  discriminator: {kind: dcgan, width: 16, attention: [{kind: $name, resolution: 14}]}
train: {steps: 200, sample_every: 100, checkpoint_every: 100}
""",
    "norm": """\
name: $name-mnist
data: {source: mnist-5k, batch_size: 32}
model:
  generator: {kind: dcgan, width: 16, norm: {kind: $name}}
  discriminator: {kind: dcgan, width: 16}
train: {steps: 200, sample_every: 100, checkpoint_every: 100}
""",
    "loss": """\
name: $name-mnist
data: {source: mnist-5k, batch_size: 32}
model:
  generator: {kind: dcgan, width: 16}
  discriminator: {kind: dcgan, width: 16}
loss: {kind: $name, margin: 1.0}
train: {steps: 200, sample_every: 100, checkpoint_every: 100}
""",
}

README = """\
# $dist

A ganparts plugin adding the $kind block `$name`.

## Install and use

```bash
pip install -e .                     # beside ganparts, in its environment
ganparts plugins                     # $name  $dist  0.1.0  loaded  $kind: $name
ganparts train examples/$name.yaml --out runs/$name
```

To try it without installing into ganparts' environment:

```bash
pip install --no-deps --target /tmp/$name-site .
PYTHONPATH=/tmp/$name-site ganparts plugins
```

## Test

```bash
pip install -e '.[test]'
pytest                               # loads, keeps the $kind contract (ganparts.testing), trains
ganparts plugins --check $name       # every contract check of every block, one table; exit 1 on a failure
```

Edit `$module.py`; docs/plugins.md in ganparts describes the contract of each kind of block.
"""
