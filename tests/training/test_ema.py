"""The EMA generator draws with BatchNorm statistics of its own weights, computed without
touching anything training depends on."""

import pytest
import torch
from torch import nn

from ganparts.analysis.inference import latents, load_trained
from ganparts.plugins import default_registry
from ganparts.training import ema as ema_module
from ganparts.training.trainer import Trainer


def trained(tiny_spec, mnist5k, tmp_path=None, **sets) -> Trainer:
    # A short EMA horizon, so that the averaged weights are far from the live ones.
    trainer = Trainer(tiny_spec(**{"train.ema_decay": "0.9", "train.steps": "8"} | sets), run_dir=tmp_path, data=mnist5k, registry=default_registry())
    trainer.fit()
    return trainer


def first_batchnorm(network: nn.Module) -> nn.BatchNorm2d:
    return next(m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


@pytest.mark.parametrize("classes", ["0", "10"])
def test_calibrated_statistics_are_the_averaged_generators_own(classes, tiny_spec, mnist5k):
    trainer = trained(tiny_spec, mnist5k, **{"model.num_classes": classes})
    copied = first_batchnorm(trainer.ema.shadow).running_mean.clone()
    assert torch.equal(copied, first_batchnorm(trainer.generator).running_mean)  # update() copies the live G's

    shadow = trainer.ema.calibrated()
    # The first BatchNorm's input does not depend on any statistics: its mean over the
    # calibration latents, by the averaged weights, is what the running mean must hold now.
    seen = []
    hook = first_batchnorm(shadow).register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
    n, batches = ema_module.CALIBRATION_BATCH_SIZE, ema_module.CALIBRATION_BATCHES
    z = torch.cat([latents(trainer.spec.model.z_dim, n, seed=ema_module.CALIBRATION_SEED + b) for b in range(batches)])
    labels = torch.arange(n).repeat(batches) % int(classes) if int(classes) else None
    with torch.no_grad():
        shadow(z) if labels is None else shadow(z, labels)
    hook.remove()
    expected = seen[0].mean(dim=(0, 2, 3))
    torch.testing.assert_close(first_batchnorm(shadow).running_mean, expected, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(copied, expected, atol=1e-3)
    assert not shadow.training and not any(m.training for m in shadow.modules())


def test_calibration_leaves_training_untouched(tiny_spec, mnist5k):
    trainer = trained(tiny_spec, mnist5k)
    rng = torch.get_rng_state()
    weights = [p.clone() for p in trainer.ema.shadow.parameters()]
    # Spectral norm's vectors: a power-iteration step in train mode would move them.
    vectors = {k: v.clone() for k, v in trainer.ema.shadow.named_buffers() if k.endswith(("_u", "_v"))}
    assert vectors

    first = {k: v.clone() for k, v in trainer.ema.state_dict().items()}
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(a, b) for a, b in zip(weights, trainer.ema.shadow.parameters()))
    assert all(torch.equal(v, trainer.ema.shadow.get_buffer(k)) for k, v in vectors.items())
    assert all(m.momentum == 0.1 for m in trainer.ema.shadow.modules() if isinstance(m, nn.BatchNorm2d))

    trainer.ema.load_state_dict(first)  # marks the statistics stale: they are recomputed on the next read
    again = trainer.ema.state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)  # a function of the weights alone


def test_checkpoints_and_loaded_runs_draw_with_the_calibrated_statistics(tiny_spec, mnist5k, tmp_path):
    trainer = trained(tiny_spec, mnist5k, tmp_path)
    calibrated = trainer.ema.calibrated().state_dict()
    loaded = load_trained(tmp_path, registry=default_registry()).generator
    assert loaded.state_dict().keys() == calibrated.keys()
    assert all(torch.equal(loaded.state_dict()[k], calibrated[k]) for k in calibrated)
    assert not torch.equal(first_batchnorm(loaded).running_mean, first_batchnorm(trainer.generator).running_mean)
