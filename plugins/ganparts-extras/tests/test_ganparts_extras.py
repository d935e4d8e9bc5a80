"""Tests of the ganparts-extras plugin: each block on its own, then the installed plugin end to end.

Run from this folder with ``pytest`` once the package is installed (``pip install -e .``).
"""

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ganparts.blocks.attention import SelfAttention2d, record_attention
from ganparts.plugins import default_registry, plugin_reports

from ganparts_extras import EfficientAttention2d, SqueezeExcite2d, r1_penalty, rahinge_d_loss, rahinge_g_loss

EXAMPLE_SPEC = Path(__file__).resolve().parents[1] / "examples" / "extras_mnist.yaml"
BLOCKS = {"attention": ("efficient", "se"), "loss": ("rahinge",), "penalty": ("r1",)}
# Shrinks the example spec to seconds of CPU training.
TINY = {
    "data.source": "mnist-5k", "data.batch_size": "8", "model.z_dim": "16",
    "model.generator.width": "8", "model.discriminator.width": "8", "train.steps": "4",
    "train.log_every": "2", "train.sample_every": "0", "train.checkpoint_every": "0", "train.grid_size": "4",
}


def ganparts_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ganparts", *map(str, args)], capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if k != "GANPARTS_DISABLE_PLUGIN_AUTOLOAD"},
    )


# --- efficient attention -----------------------------------------------------------


def excited(block: EfficientAttention2d, gamma: float = 0.7) -> EfficientAttention2d:
    with torch.no_grad():
        block.gamma.fill_(gamma)
    return block


@pytest.mark.parametrize("heads", [1, 2])
def test_efficient_attention_output_is_its_recorded_map_applied_to_the_values(heads):
    torch.manual_seed(0)
    block = excited(EfficientAttention2d(channels=32, heads=heads))
    x = torch.randn(2, 32, 7, 7)
    fast = block(x)
    with record_attention(block) as maps:
        assert torch.equal(block(x), fast)
    attn = maps[""].map
    assert attn.shape == (2, heads, 49, 49) and maps[""].key_grid == (7, 7)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, heads, 49))
    assert (attn >= 0).all()
    values = block.value(x).flatten(2).unflatten(1, (heads, -1)).transpose(-1, -2)  # b h m e
    explicit = x + 0.7 * (attn @ values).transpose(-1, -2).reshape_as(x)
    torch.testing.assert_close(fast, explicit, rtol=1e-4, atol=1e-5)


def test_efficient_attention_starts_as_the_identity():
    block = EfficientAttention2d(channels=16)
    x = torch.randn(3, 16, 14, 14)
    assert block.gamma.item() == 0
    assert torch.equal(block(x), x)


def flops(block: nn.Module, side: int) -> int:
    with FlopCounterMode(display=False) as counter:
        block(torch.randn(1, 16, side, side))
    return counter.get_total_flops()


def test_efficient_attention_cost_is_linear_in_pixels_unlike_sagan():
    efficient, sagan = EfficientAttention2d(channels=16), SelfAttention2d(channels=16)
    assert flops(efficient, 56) == 4 * flops(efficient, 28) == 16 * flops(efficient, 14)
    assert flops(sagan, 56) > 12 * flops(sagan, 28)  # quadratic: the n×n map dominates


def test_efficient_attention_refuses_too_narrow_for_heads():
    with pytest.raises(ValueError, match="multiples of heads"):
        EfficientAttention2d(channels=8, heads=2)


# --- squeeze-and-excitation --------------------------------------------------------


def test_squeeze_excite_scales_each_channel_by_a_gate_from_its_global_mean():
    torch.manual_seed(0)
    block = SqueezeExcite2d(channels=32, reduction=8)
    assert block.excite[0].out_channels == 4
    x = torch.randn(2, 32, 14, 14)
    y = block(x)
    gate = y / x  # one factor per (image, channel), the same at every pixel
    assert torch.allclose(gate, gate[..., :1, :1].expand_as(gate), atol=1e-5)
    assert ((gate > 0) & (gate < 1)).all()
    shifted = x.clone()
    shifted[1, 3] += 5  # another image's content changes only that image's gates
    torch.testing.assert_close(block(shifted)[0], y[0])


def test_squeeze_excite_hidden_width_never_reaches_zero():
    assert SqueezeExcite2d(channels=8, reduction=16).excite[0].out_channels == 1


# --- relativistic average hinge loss and R1 ----------------------------------------


def test_rahinge_matches_the_formula():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])  # means 1 and 0
    # D: relu(1 - (r - 0)) = [0, 1]; relu(1 + (f - 1)) = [0, 1]  → 0.5 + 0.5
    torch.testing.assert_close(rahinge_d_loss(real, fake), torch.tensor(1.0))
    # G: relu(1 - (f - 1)) = [3, 1]; relu(1 + (r - 0)) = [3, 1]  → 2 + 2
    torch.testing.assert_close(rahinge_g_loss(fake, real), torch.tensor(4.0))
    with pytest.raises(ValueError, match="needs D's logits on real images"):
        rahinge_g_loss(fake, None)


def test_r1_of_a_linear_discriminator_is_its_squared_weight_norm():
    D = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
    real = torch.randn(5, 1, 2, 2)
    torch.testing.assert_close(r1_penalty(D, real), D[1].weight.square().sum())
    built = default_registry().create("penalty", {"kind": "r1", "gamma": 10.0})
    assert built.weight == 5.0  # γ/2
    built(discriminator=D, real=real, fake=real).backward()
    assert D[1].weight.grad is not None  # the penalty trains D


# --- the installed plugin, end to end ----------------------------------------------


def test_loads_through_its_installed_entry_point():
    (ep,) = [ep for ep in importlib.metadata.entry_points(group="ganparts") if ep.name == "extras"]
    assert ep.value == "ganparts_extras" and ep.dist.name == "ganparts-extras"
    (report,) = [r for r in plugin_reports() if r.name == "extras"]
    assert report.status == "loaded" and report.distribution == "ganparts-extras"
    assert report.version == importlib.metadata.version("ganparts-extras") and not report.builtin
    assert dict(report.blocks) == BLOCKS


def test_cli_builds_trains_and_pictures_the_example_spec(tmp_path):
    sets = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
    built = ganparts_cli("build", EXAMPLE_SPEC, *sets)
    assert built.returncode == 0, built.stderr
    for origin in ("attention:efficient (extras)", "attention:se (extras)"):
        assert origin in built.stdout
    assert "loss: rahinge from plugin extras (ganparts-extras " in built.stdout and "; penalties: r1 ×0.5;" in built.stdout

    run = tmp_path / "run"
    trained = ganparts_cli("train", EXAMPLE_SPEC, "--out", run, "--no-progress", *sets)
    assert trained.returncode == 0, trained.stderr
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor([r["d_loss"], r["g_loss"]])).all() for r in rows)
    # Efficient attention is an AttentionBlock: its gamma is logged and it learns; SE has none.
    assert {k for k in rows[-1] if k.startswith("gamma/")} == {"gamma/G.attn14", "gamma/D.attn28"}
    assert rows[-1]["gamma/D.attn28"] != 0
    assert (run / "attention" / "step_00000004.png").stat().st_size > 0

    pictured = ganparts_cli("attention", run, "--network", "D", "--n", "1", "--out", tmp_path / "attn.png")
    assert pictured.returncode == 0, pictured.stderr
    assert "attention maps of 1 layer(s)" in pictured.stdout


def test_readme_documents_every_block_and_field():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    documented = set(re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", readme, flags=re.S)))
    entries = [e for e in default_registry().entries() if e.plugin == "extras"]
    assert {e.name for e in entries} == {name for names in BLOCKS.values() for name in names}
    missing = [f"{e.name}.{f}" for e in entries for f in [e.name, *e.spec.model_fields] if f != "kind" and f not in documented]
    assert not missing, f"README.md lacks: {missing}"


def test_every_block_keeps_the_contract_of_its_kind():
    """What `ganparts plugins --check extras` runs (without its short trainings, which the CLI test above covers)."""
    from ganparts.testing import check_plugin

    results = check_plugin("extras", train=False)
    assert {r.block for r in results} == {"attention:efficient", "attention:se", "loss:rahinge", "penalty:r1"}
    assert not [r for r in results if r.failed], [r for r in results if r.failed]
