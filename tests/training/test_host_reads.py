"""The training loop reads no tensor's value on the host between log flushes.

On CUDA every such read is a host sync that stalls the launch queue; tests/training/test_cuda.py
checks that with torch.cuda.set_sync_debug_mode("error") where a GPU is present. This is the
CPU stand-in that runs everywhere: it records the aten ops that hand a value to Python
(``.item()``, ``bool()``, ``float()``, ``nonzero`` …) and the conversions that copy to the host.
"""

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ganparts.plugins import default_registry
from ganparts.training.trainer import Trainer

# aten ops whose result the host must wait for: a value, or a shape that depends on values.
HOST_READS = {"_local_scalar_dense", "is_nonzero", "equal", "allclose", "nonzero", "masked_select", "_unique", "_unique2", "unique_dim", "unique_consecutive"}


class HostReads(TorchDispatchMode):
    """Records the ops of :data:`HOST_READS` while ``recording``."""

    def __init__(self):
        super().__init__()
        self.recording, self.found = True, []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.recording and func.overloadpacket.__name__ in HOST_READS:
            self.found.append(str(func))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("spec_file, extra", [
    ("sagan_mnist.yaml", {}),
    ("sagan_cond_mnist.yaml", {}),
    ("sagan_mnist.yaml", {"augment": "[{kind: translation, p: 0.5}, {kind: cutout, p: 0.5}]", "train.ada_target": "0.6", "train.ada_interval": "2"}),
], ids=["default", "conditional", "ada"])
def test_steps_read_nothing_on_the_host_until_the_log_flush(spec_file, extra, tiny_spec, mnist5k, monkeypatch):
    trainer = Trainer(tiny_spec(spec_file, **{"train.steps": "5", "train.log_every": "100"}, **extra), data=mnist5k, registry=default_registry())
    reads = HostReads()
    copies = []
    for name in ("cpu", "tolist", "numpy", "__array__"):  # on a CPU tensor these copy nothing, so no aten op shows them
        original = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name, lambda self, *a, _name=name, _original=original, **k: (copies.append(_name) if reads.recording else None, _original(self, *a, **k))[1])
    flush = trainer.flush_logs

    def flush_reading():  # the one place the loop may read values
        reads.recording = False
        try:
            return flush()
        finally:
            reads.recording = True

    trainer.flush_logs = flush_reading
    with reads:
        trainer.fit()
    assert trainer.step == 5
    assert reads.found == [] and copies == []


def test_the_recorder_sees_host_reads():
    with HostReads() as reads:
        x = torch.ones(3)
        if x.sum() > 0:  # bool() of a tensor: one read
            float(x.mean())  # and another
    assert reads.found == ["aten._local_scalar_dense.default"] * 2


@pytest.mark.parametrize("implementation, reads_per_update", [({"foreach": False}, 1), ({"fused": True}, 0)])
def test_fused_adam_keeps_its_step_count_off_the_host(implementation, reads_per_update):
    """torch's CPU default Adam reads each parameter's step count on the host; fused Adam does not."""
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3)
    optimizer = torch.optim.Adam([p], **implementation)
    with HostReads() as reads:
        optimizer.step()
    assert len(reads.found) == reads_per_update
