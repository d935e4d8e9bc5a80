import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from torch import nn

from ganparts.blocks.attend import Attend, project
from ganparts.blocks.attention import AttentionBlock, PooledSelfAttention2d, SelfAttention2d, record_attention

BLOCKS = [SelfAttention2d, PooledSelfAttention2d]


@pytest.mark.parametrize("cls", BLOCKS)
@pytest.mark.parametrize("side", [7, 14, 28])
def test_shape_kept_and_weights_sum_to_one(cls, side):
    block = cls(channels=16)
    x = torch.randn(2, 16, side, side)
    with record_attention(block) as maps:
        y = block(x)
    assert y.shape == x.shape
    attn = maps[""].map
    keys = side * side if cls is SelfAttention2d else ((side + 1) // 2) ** 2
    assert attn.shape == (2, 1, side * side, keys)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 1, side * side))
    assert (attn >= 0).all()


@pytest.mark.parametrize("cls", BLOCKS)
def test_gamma_zero_is_identity(cls):
    block = cls(channels=16)
    x = torch.randn(3, 16, 14, 14)
    assert block.gamma.item() == 0
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)


@pytest.mark.parametrize("cls", BLOCKS)
@pytest.mark.parametrize("heads", [1, 2])
def test_fast_path_equals_explicit_map(cls, heads):
    torch.manual_seed(0)
    block = cls(channels=32, heads=heads)
    with torch.no_grad():
        block.gamma.fill_(0.7)
    x = torch.randn(2, 32, 14, 14)
    fast = block(x)
    with record_attention(block) as maps:
        explicit = block(x)
    torch.testing.assert_close(fast, explicit, rtol=1e-4, atol=1e-5)
    assert maps[""].heads == heads


def test_paper_form_matches_hand_written_sagan():
    """softmax over keys of unscaled q·k, values with C channels, out = x + γ·o."""
    torch.manual_seed(1)
    block = SelfAttention2d(channels=16)
    with torch.no_grad():
        block.gamma.fill_(0.5)
    x = torch.randn(2, 16, 7, 7)
    flat = lambda t: t.flatten(2)  # noqa: E731  b c n
    q, k, v = flat(block.query(x)), flat(block.key(x)), flat(block.value(x))
    beta = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # b n m
    o = (v @ beta.transpose(1, 2)).view_as(x)
    torch.testing.assert_close(block(x), x + 0.5 * o, rtol=1e-4, atol=1e-5)
    assert block.query.out_channels == 2 and block.value.out_channels == 16


def test_pooled_form_has_half_value_channels_and_output_conv():
    block = PooledSelfAttention2d(channels=64)
    assert block.query.out_channels == 8 and block.value.out_channels == 32 and block.out.in_channels == 32


def asked_for_maps(block: AttentionBlock) -> list[bool]:
    """Notes, for each forward of ``block``, whether it asked its ``Attend`` for the map."""
    asked = []
    block.attend.register_forward_pre_hook(lambda module, args, kwargs: asked.append(kwargs.get("return_map", False)), with_kwargs=True)
    return asked


def test_map_recorded_in_the_same_forward_and_only_inside_the_with():
    block = SelfAttention2d(channels=16)
    asked = asked_for_maps(block)
    block(torch.randn(1, 16, 7, 7))
    with record_attention(block) as maps:
        assert block.recording
        block(torch.randn(1, 16, 7, 7))
    assert not block.recording
    block(torch.randn(3, 16, 7, 7))
    assert asked == [False, True, False]  # the map is formed only while recording
    assert list(maps) == [""] and maps[""].map.shape == (1, 1, 49, 49) and maps[""].key_grid == (7, 7)
    assert not maps[""].map.requires_grad
    assert not hasattr(block, "attention_map")  # nothing is left on the shared module


def test_nested_recordings_each_get_the_layers_they_cover():
    net = nn.Sequential(SelfAttention2d(channels=16), PooledSelfAttention2d(channels=16))
    with record_attention(net) as outer, record_attention(net[1]) as inner, record_attention(nn.Identity()) as none:
        net(torch.randn(1, 16, 8, 8))
    assert list(outer) == ["0", "1"] and list(inner) == [""] and len(none) == 0
    assert inner[""].map is outer["1"].map and outer["1"].key_grid == (4, 4)


def test_keep_map_refuses_a_map_that_does_not_fit_its_key_grid():
    class Wrong(AttentionBlock):
        def forward(self, x):
            if self.recording:
                self.keep_map(torch.ones(1, 1, 4, 5), (2, 2))
            return x

    block = Wrong()
    with pytest.raises(ValueError, match="m = 2·2 keys"), record_attention(block):
        block(torch.zeros(1))


def test_attend_scale_one_is_unscaled():
    q, k, v = torch.randn(1, 1, 4, 3), torch.randn(1, 1, 5, 3), torch.randn(1, 1, 5, 2)
    out, attn = Attend()(q, k, v, return_map=True)
    torch.testing.assert_close(attn, torch.softmax(q @ k.transpose(-1, -2), -1))


def test_too_narrow_for_heads_is_a_clear_error():
    with pytest.raises(ValueError, match="multiples of heads"):
        SelfAttention2d(channels=8, heads=2)


def test_projections_as_one_gemm_equal_the_convolutions():
    torch.manual_seed(2)
    block = SelfAttention2d(channels=16)
    x = torch.randn(3, 16, 7, 7)
    for conv, projected in zip((block.query, block.key, block.value), project(x, block.query, block.key, block.value)):
        torch.testing.assert_close(projected, conv(x), rtol=1e-5, atol=1e-5)


def hand_written(block, x):
    """The block by the paper's formulas: 1×1 convs, softmax over keys of qᵀk, o = v·attnᵀ (one head)."""
    pooled = isinstance(block, PooledSelfAttention2d)
    q, k, v = block.query(x).flatten(2), block.key(x), block.value(x)
    k, v = (block.pool(k), block.pool(v)) if pooled else (k, v)
    attn = torch.softmax(q.transpose(1, 2) @ k.flatten(2), dim=-1)
    o = (v.flatten(2) @ attn.transpose(1, 2)).unflatten(2, x.shape[-2:])
    return x + block.gamma * (block.out(o) if pooled else o)


@pytest.mark.parametrize("cls", BLOCKS)
def test_gradients_equal_the_hand_written_paper_form(cls):
    """Forward and backward of the fast path, in float64, against autograd through the formulas."""
    torch.manual_seed(3)
    block = cls(channels=16).double()
    with torch.no_grad():
        block.gamma.fill_(0.6)
    x = torch.randn(2, 16, 8, 8, dtype=torch.float64, requires_grad=True)
    inputs = [x, *block.parameters()]
    torch.testing.assert_close(block(x), hand_written(block, x))
    fast = torch.autograd.grad(block(x).square().sum(), inputs)
    slow = torch.autograd.grad(hand_written(block, x).square().sum(), inputs)
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b)


def test_batch_slices_compute_what_one_batch_wide_map_does():
    torch.manual_seed(4)
    q, k, v = (torch.randn(5, 2, 49, width, requires_grad=True) for width in (4, 4, 32))
    one_shot, _ = Attend()(q, k, v, return_map=True)
    sliced, _ = Attend(map_bytes=2 * 49 * 49 * 4 * 2)(q, k, v)  # two batch items per slice → three slices
    torch.testing.assert_close(sliced, one_shot, rtol=0, atol=0)
    grad = torch.randn_like(one_shot)
    for a, b in zip(torch.autograd.grad(sliced, (q, k, v), grad), torch.autograd.grad(one_shot, (q, k, v), grad)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_fused_kernel_path_equals_explicit_when_widths_match():
    torch.manual_seed(5)
    q, k, v = torch.randn(2, 2, 49, 8), torch.randn(2, 2, 30, 8), torch.randn(2, 2, 30, 8)
    fused, attn = Attend()(q, k, v)
    assert attn is None
    torch.testing.assert_close(fused, Attend()(q, k, v, return_map=True)[0], rtol=1e-5, atol=1e-5)


# --- recordings belong to their thread: the same block runs concurrently ---------------


def excited(cls, seed: int = 6) -> AttentionBlock:
    torch.manual_seed(seed)
    block = cls(channels=16)
    with torch.no_grad():
        block.gamma.fill_(0.7)  # so the output depends on the attention
    return block


def meet_inside_attend(block: AttentionBlock) -> dict[str, bool]:
    """Holds each forward inside ``block.attend`` until two are there, so two threads' forwards
    overlap; returns, by thread name, whether each asked for the map."""
    barrier, asked = threading.Barrier(2, timeout=30), {}

    def hook(module, args, kwargs):
        asked[threading.current_thread().name] = kwargs.get("return_map", False)
        barrier.wait()

    block.attend.register_forward_pre_hook(hook, with_kwargs=True)
    return asked


def run_together(*jobs):
    with ThreadPoolExecutor(len(jobs)) as pool:
        return [future.result() for future in [pool.submit(job) for job in jobs]]


@pytest.mark.parametrize("cls", BLOCKS)
def test_a_plain_forward_in_another_thread_neither_computes_nor_overwrites_the_map(cls):
    block = excited(cls)
    mine, theirs = torch.randn(2, 16, 7, 7), torch.randn(3, 16, 7, 7)
    with record_attention(block) as alone:
        block(mine)
    plain = block(theirs)
    asked = meet_inside_attend(block)
    recording_started = threading.Event()

    def recorder():
        threading.current_thread().name = "recorder"
        with record_attention(block) as maps:
            recording_started.set()  # the other forward starts while this recording is on
            block(mine)
        return maps

    def plain_forward():
        threading.current_thread().name = "plain"
        assert recording_started.wait(30)
        return block(theirs)

    maps, output = run_together(recorder, plain_forward)
    assert asked == {"recorder": True, "plain": False}
    assert list(maps) == [""] and maps[""].map.shape[0] == 2  # its own batch of 2, not the other's 3
    torch.testing.assert_close(maps[""].map, alone[""].map, rtol=0, atol=0)
    torch.testing.assert_close(output, plain, rtol=0, atol=0)


def test_two_threads_recording_the_same_block_each_keep_their_own_map():
    block = excited(SelfAttention2d)
    inputs = torch.randn(2, 16, 7, 7), torch.randn(2, 16, 7, 7)
    alone = []
    for x in inputs:
        with record_attention(block) as maps:
            block(x)
        alone.append(maps[""].map)
    asked = meet_inside_attend(block)
    both_recording = threading.Barrier(2, timeout=30)

    def recorder(x):
        def job():
            with record_attention(block) as maps:
                both_recording.wait()
                block(x)
            return maps

        return job

    recordings = run_together(*map(recorder, inputs))
    assert list(asked.values()) == [True, True]
    for maps, expected in zip(recordings, alone):
        assert list(maps) == [""]
        torch.testing.assert_close(maps[""].map, expected, rtol=0, atol=0)
    assert not torch.allclose(alone[0], alone[1])  # the inputs' maps do differ


@pytest.mark.parametrize("spec", [{"kind": "sagan", "heads": 2}, {"kind": "sagan_pooled", "heads": 2, "key_ratio": 4}])
def test_other_settings_keep_the_attention_contract(spec, registry):
    """ganparts.testing's checker, as plugin authors run it (the catalogue runs it on every block's defaults)."""
    from ganparts.testing import check_attention_block

    results = check_attention_block(spec, registry=registry)
    assert {r.check for r in results if r.status == "pass"} >= {"identity at gamma 0", "map rows sum to 1", "state dict round trip"}
