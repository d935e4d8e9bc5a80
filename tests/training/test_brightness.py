"""train.match_data_brightness: G's first images are as bright as the data, and nothing else changes."""

import torch

# The shift matches the mean before tanh; tanh's curvature leaves the mean image a little off
# (about 0.1 brighter than MNIST's −0.74); unshifted generators start 0.2–1.3 off (docs/results.md).
CLOSE = 0.15

from ganparts.analysis.inference import latents
from ganparts.training.trainer import Trainer


def trainer(tiny_spec, mnist5k, registry, on, **extra):
    return Trainer(tiny_spec(**{"train.match_data_brightness": str(on).lower(), **extra}), data=mnist5k, registry=registry)


def test_the_first_images_are_as_bright_as_the_data(tiny_spec, mnist5k, registry):
    data_mean = mnist5k.to_float("cpu")[0].mean().item()
    for spec_file in ("sagan_mnist.yaml", "resnet_mnist.yaml"):
        plain, matched = (trainer(tiny_spec, mnist5k, registry, on, path=spec_file) for on in (False, True))
        # Only the last conv's bias moved (buffers included); the EMA copy starts from the shifted G.
        changed = [k for k, v in matched.generator.state_dict().items() if not torch.equal(v, plain.generator.state_dict()[k])]
        assert len(changed) == 1 and changed[0].endswith("bias"), changed
        assert all(torch.equal(a, b) for a, b in zip(matched.ema.shadow.state_dict().values(), matched.generator.state_dict().values()))
        z = latents(plain.spec.model.z_dim, 512, seed=7)  # not the latents the shift was measured on
        with torch.no_grad():
            before, after = (t.generator(z).mean().item() for t in (plain, matched))
        assert abs(after - data_mean) < CLOSE < abs(before - data_mean), (spec_file, before, after, data_mean)


def test_training_draws_the_same_batches_and_noise(tiny_spec, mnist5k, registry):
    def batch_after_training(on):  # one trainer at a time: each seeds torch's global generator when built
        t = trainer(tiny_spec, mnist5k, registry, on)
        t.fit()
        return t.sample_real()

    assert torch.equal(batch_after_training(False), batch_after_training(True))


def test_a_conditional_generator_is_shifted_too(tiny_spec, mnist5k, registry):
    matched = trainer(tiny_spec, mnist5k, registry, True, **{"model.num_classes": "10"})
    z, labels = latents(16, 500, seed=3), torch.arange(500) % 10
    with torch.no_grad():
        assert abs(matched.generator(z, labels).mean().item() - mnist5k.to_float("cpu")[0].mean().item()) < CLOSE
