"""Data-parallel training: torchrun with 2 CPU ranks (gloo) on a class-conditional model, checkpoints, resume across rank counts."""

import os
import shutil
import subprocess
import sys

import pytest
import torch

from ganparts.training import distributed
from ganparts.runs.checkpoints import load_checkpoint
from ganparts.training.distributed import Ranks
from ganparts.runs.layout import RunDir
from ganparts.errors import SpecError
from ganparts.spec.files import load_spec
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry
from tests.conftest import ROOT, SPECS, run_cli, tiny_overrides

SAGAN = SPECS / "sagan_mnist.yaml"
# Class-conditional, so one torchrun covers the labels too: each rank draws them with its own shard's images.
TINY = tiny_overrides(**{"train.steps": "4", "train.checkpoint_every": "2", "train.log_every": "2", "model.num_classes": "10"})


def torchrun(*args, nproc: int = 2) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=N -m ganparts ARGS`` (one thread per rank)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "ganparts", *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def train_args(out, *overrides):
    return ["train", SAGAN, "--out", out, "--device", "cpu", "--no-progress", *(a for kv in [*TINY, *overrides] for a in ("--set", kv))]


def weights_of(checkpoint) -> dict:
    return {k: v for k, v in checkpoint.tensors.items() if not k.startswith("rng")}


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ddp") / "run"
    result = torchrun(*train_args(run))
    assert result.returncode == 0, result.stderr[-3000:]
    return run, result


def test_two_ranks_train_and_rank_0_writes(two_rank_run):
    run, result = two_rank_run
    assert [p.name for p in sorted((run / "checkpoints").iterdir())] == ["step_00000002", "step_00000004"]
    assert [r["step"] for r in RunDir(run).read_metrics()] == [1, 2, 3, 4]  # written once, not once per rank
    assert result.stdout.count("step 4;") == 1
    state = load_checkpoint(run / "checkpoints" / "step_00000004").state
    assert state["world_size"] == 2


def test_both_ranks_held_the_saved_weights(two_rank_run):
    run, _ = two_rank_run
    checkpoint = load_checkpoint(run / "checkpoints" / "step_00000004")
    prints = checkpoint.state["rank_fingerprints"]
    assert len(prints) == 2 and prints[0] == prints[1]
    assert "discriminator.head.embed.parametrizations.weight.original" in checkpoint.tensors  # the class embedding trained too
    # ...and what the ranks held is what was saved: recompute the fingerprint from the file.
    trainer = Trainer(load_spec(SAGAN, TINY, registry=default_registry()), registry=default_registry())
    trainer.restore(checkpoint)
    assert distributed.fingerprint(trainer.weights()) == prints[0]


def test_resume_on_as_many_ranks_is_exact(two_rank_run, tmp_path):
    run, _ = two_rank_run
    resumed = tmp_path / "resumed"
    shutil.copytree(run, resumed)
    shutil.rmtree(resumed / "checkpoints" / "step_00000004")
    result = torchrun(*train_args(resumed), "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    straight = weights_of(load_checkpoint(run / "checkpoints" / "step_00000004"))
    again = weights_of(load_checkpoint(resumed / "checkpoints" / "step_00000004"))
    assert straight.keys() == again.keys()
    for key in straight:
        torch.testing.assert_close(again[key], straight[key], rtol=0, atol=0, msg=key)


def test_resume_on_a_different_number_of_ranks(two_rank_run, tmp_path):
    run, _ = two_rank_run
    single = tmp_path / "single"
    shutil.copytree(run, single)
    result = run_cli(*train_args(single, "train.steps=6"), "--resume")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout and "reseeded" in result.stderr
    assert load_checkpoint(single / "checkpoints" / "step_00000006").state["world_size"] == 1
    assert [r["step"] for r in RunDir(single).read_metrics()] == list(range(1, 7))


def test_global_batch_must_split_over_ranks():
    with pytest.raises(SpecError, match="data.batch_size: 9 does not split evenly over 2 ranks"):
        distributed.local_batch_size(9, Ranks(rank=0, world_size=2))
    assert distributed.local_batch_size(8, Ranks(rank=1, world_size=2)) == 4


def test_rank_streams_differ_and_repeat():
    one, two = Ranks(rank=0, world_size=2), Ranks(rank=1, world_size=2)
    assert distributed.rank_seed(7, one) == 7 and distributed.rank_seed(7, two) == 8
    assert distributed.rank_seed(7, two, resumed_at=10) == distributed.rank_seed(7, two, resumed_at=10)
    assert len({distributed.rank_seed(7, r, resumed_at=10) for r in (one, two)} | {7, 8}) == 4


def test_single_process_helpers_are_identities():
    t = torch.arange(3.0)
    assert distributed.mean_over_ranks(t, distributed.SINGLE) is t
    assert distributed.any_rank(True, distributed.SINGLE, torch.device("cpu")) is True
    assert distributed.from_environment() == distributed.SINGLE  # pytest is not under torchrun


def test_fingerprint_sees_every_value():
    a = [torch.zeros(3), torch.tensor(1.0)]
    b = [torch.zeros(3), torch.tensor(1.0 + 1e-7)]
    assert distributed.fingerprint(a) == distributed.fingerprint([t.clone() for t in a]) != distributed.fingerprint(b)
