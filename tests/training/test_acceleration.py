"""train.compile and train.precision: the same training, faster — numbers unchanged or within the precision's tolerance."""

import torch

from ganparts.runs.checkpoints import latest_checkpoint
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry


def one_step(spec, data):
    torch.manual_seed(0)
    trainer = Trainer(spec, data=data, registry=default_registry())
    torch.manual_seed(1)
    logs = trainer.train_step(trainer.sample_real())
    return trainer, logs


def gradients(trainer: Trainer) -> dict[str, torch.Tensor]:
    """The last step's gradients (D's from its update, G's from the G step; zeroed only at the next)."""
    return {f"{net}.{k}": p.grad for net, m in (("G", trainer.generator), ("D", trainer.discriminator)) for k, p in m.named_parameters()}


def test_compiled_networks_compute_the_same_step(tiny_spec, mnist5k):
    eager, eager_logs = one_step(tiny_spec(), mnist5k)
    compiled, compiled_logs = one_step(tiny_spec(**{"train.compile": "true"}), mnist5k)
    assert compiled.synced_g is not compiled.generator  # really compiled
    for key, value in eager_logs.items():
        torch.testing.assert_close(compiled_logs[key], value, rtol=1e-4, atol=1e-5, msg=key)
    expected = gradients(eager)
    for key, grad in gradients(compiled).items():
        # Fused kernels reorder reductions (BatchNorm's above all): equal to float32 rounding,
        # measured relative to each gradient's own scale (pre-BatchNorm biases get ~0 gradient).
        scale = expected[key].abs().max().item()
        torch.testing.assert_close(grad, expected[key], rtol=1e-3, atol=1e-3 * scale + 1e-6, msg=key)


def test_bf16_autocast_stays_close_to_fp32(tiny_spec, mnist5k):
    fp32, fp32_logs = one_step(tiny_spec(), mnist5k)
    bf16, bf16_logs = one_step(tiny_spec(**{"train.precision": "bf16"}), mnist5k)
    for key, value in fp32_logs.items():
        assert bf16_logs[key].dtype == torch.float32
        torch.testing.assert_close(bf16_logs[key], value, rtol=0.05, atol=0.05, msg=key)
    assert all(p.dtype == torch.float32 for p in bf16.weights())  # autocast leaves the weights float32
    # bf16 keeps ~3 significant digits: each network's gradient still points the same way.
    for net in ("G.", "D."):
        a, b = (torch.cat([g.flatten() for k, g in gradients(t).items() if k.startswith(net)]) for t in (fp32, bf16))
        assert torch.nn.functional.cosine_similarity(a, b, dim=0) > 0.99, net


def test_fp16_loss_scales_are_checkpointed(tiny_spec, mnist5k, tmp_path):
    spec = tiny_spec(**{"train.precision": "fp16", "train.steps": "2"})
    first = Trainer(spec, run_dir=tmp_path, data=mnist5k, registry=default_registry())
    first.fit()
    first.scaler_g.update(1024.0)  # as after overflows had backed the scale off
    first.save()
    resumed = Trainer(spec, run_dir=tmp_path, data=mnist5k, registry=default_registry())
    resumed.restore(latest_checkpoint(tmp_path))
    assert resumed.scaler_g.get_scale() == 1024.0
    assert resumed.scaler_d.get_scale() == first.scaler_d.get_scale()
