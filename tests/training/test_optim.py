"""Fused Adam, and checkpoints that resume with whichever Adam implementation wrote them."""

import pytest
import torch

from ganparts.plugins import default_registry
from ganparts.runs.checkpoints import latest_checkpoint
from ganparts.training.trainer import Trainer


def unfused(trainer):
    """The trainer with torch's default Adam instead (what checkpoints before fused Adam hold)."""
    optim = trainer.spec.optim
    trainer.opt_g = torch.optim.Adam(trainer.generator.parameters(), lr=optim.g_lr, betas=tuple(optim.betas))
    trainer.opt_d = torch.optim.Adam(trainer.discriminator.parameters(), lr=optim.d_lr, betas=tuple(optim.betas))
    return trainer


def test_the_trainer_uses_fused_adam(tiny_spec, mnist5k):
    trainer = Trainer(tiny_spec(), data=mnist5k, registry=default_registry())
    assert all(group["fused"] for opt in (trainer.opt_g, trainer.opt_d) for group in opt.param_groups)


@pytest.mark.parametrize("written_fused", [True, False], ids=["fused-checkpoint", "unfused-checkpoint"])
def test_a_checkpoint_resumes_with_either_implementation(written_fused, tiny_spec, mnist5k, tmp_path):
    writer = Trainer(tiny_spec(**{"train.steps": "2"}), run_dir=tmp_path, data=mnist5k, registry=default_registry())
    if not written_fused:
        unfused(writer)
    writer.fit()

    reader = Trainer(tiny_spec(**{"train.steps": "4"}), run_dir=tmp_path, data=mnist5k, registry=default_registry())
    if written_fused:
        unfused(reader)  # the other implementation reads it
    reader.restore(latest_checkpoint(tmp_path))
    for written, read in ((writer.opt_g, reader.opt_g), (writer.opt_d, reader.opt_d)):
        assert bool(read.param_groups[0]["fused"]) is not written_fused  # the reader keeps its own implementation
        for index, moments in written.state_dict()["state"].items():
            for key, value in moments.items():
                torch.testing.assert_close(read.state_dict()["state"][index][key].cpu(), value.cpu(), rtol=0, atol=0)
    reader.fit()  # and trains on from there
    assert reader.step == 4 and all(torch.isfinite(w).all() for w in reader.weights())
