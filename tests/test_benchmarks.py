"""The benchmarks compare like with like: the plain-PyTorch reference is ganparts' computation,
and the memory measurement counts what it claims to."""

import torch

from benchmarks.plain_sagan import PlainSAGAN, SelfAttn
from benchmarks.sampling import peak_bytes
from benchmarks.timing import interleaved
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry


def state_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    pairs = list(zip(a.state_dict().values(), b.state_dict().values()))
    assert len(pairs) == len(a.state_dict()) == len(b.state_dict())
    return max((x - y).abs().max().item() for x, y in pairs)


def test_plain_loop_trains_to_exactly_the_trainers_weights(tiny_spec, mnist5k):
    torch.manual_seed(0)
    trainer = Trainer(tiny_spec(**{"train.steps": "5"}), data=mnist5k, registry=default_registry())
    plain = PlainSAGAN.like(trainer, fused=True)
    torch.manual_seed(1)
    trainer.fit()
    torch.manual_seed(1)
    plain.train(5)
    for mine, theirs in ((plain.G, trainer.generator), (plain.D, trainer.discriminator), (plain.G_ema, trainer.ema.shadow)):
        assert state_diff(mine, theirs) == 0.0


def test_seed_style_attention_computes_the_same_block():
    torch.manual_seed(0)
    convs, fused = SelfAttn(16, fused=False), SelfAttn(16, fused=True)
    fused.load_state_dict(convs.state_dict())
    with torch.no_grad():
        for block in (convs, fused):
            block.gamma.fill_(0.8)
    x = torch.randn(2, 16, 14, 14)
    torch.testing.assert_close(convs(x), fused(x), rtol=1e-5, atol=1e-5)


def test_peak_bytes_replays_allocations_in_order():
    def allocate():
        a = torch.empty(1_000_000)  # 4 MB
        b = torch.empty(1_000_000)  # 8 MB live
        del a
        c = torch.empty(2_000_000)  # 4 + 8 = 12 MB live: the peak
        del b, c

    assert peak_bytes(allocate) == 12_000_000


def test_interleaved_rotates_the_order_and_drops_warmup():
    calls = []
    variants = {name: (lambda name=name: calls.append(name) or 1.0) for name in "abc"}
    results = interleaved(variants, rounds=3, warmup=1)
    assert calls == list("abc" "abc" "bca" "cab")
    assert results == {name: [1.0] * 3 for name in "abc"}
