"""Memory and disk checks before training, and what a full disk does mid-run.

The tmpfs tests mount a real, tiny file system (they need root and are skipped elsewhere);
the others need nothing special."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ganparts.runs.checkpoints import latest_checkpoint, list_checkpoints, load_checkpoint
from ganparts.cli import main
from ganparts.models import build_discriminator, build_generator
from ganparts.training.resources import ResourceError, estimate_resources, require_disk_space, require_memory, require_writable
from ganparts.training.trainer import Trainer
from ganparts.plugins import default_registry
from tests.conftest import SPECS, run_cli, tiny_overrides
from tests.conftest import MNIST_SHAPE

SAGAN = SPECS / "sagan_mnist.yaml"


def sets(**extra):
    return [arg for kv in tiny_overrides(**extra) for arg in ("--set", kv)]


def test_the_estimate_counts_the_real_parameters_and_checkpoint(tiny_spec, mnist5k, tmp_path):
    spec = tiny_spec()
    estimate = estimate_resources(spec, registry=default_registry())
    assert estimate.parameters == sum(p.numel() for net in (build_generator(spec, registry=default_registry(), image_shape=MNIST_SHAPE), build_discriminator(spec, registry=default_registry(), image_shape=MNIST_SHAPE)) for p in net.parameters())
    trainer = Trainer(spec, run_dir=tmp_path, data=mnist5k, registry=default_registry())
    trainer.train_step(trainer.sample_real())  # Adam's moments exist from the first update
    written = (trainer.save() / "tensors.safetensors").stat().st_size
    assert 0.95 < estimate.checkpoint_bytes / written < 1.05


def test_activations_grow_with_the_batch(tiny_spec):
    small, large = (estimate_resources(tiny_spec(**{"data.batch_size": str(b)}), registry=default_registry()) for b in (8, 64))
    assert large.activation_bytes == 8 * small.activation_bytes > 0
    assert large.state_bytes == small.state_bytes


def test_an_absurd_spec_is_refused_with_the_estimate(tiny_spec):
    spec = tiny_spec(**{"data.batch_size": "65536", "model.generator.width": "1024", "model.discriminator.width": "1024"})
    with pytest.raises(ResourceError, match=r"this spec needs about [\d.]+ TiB: [\d,]+ parameters .* at batch size 65,536;\ncpu has .* available"):
        require_memory(spec, torch.device("cpu"), registry=default_registry())


def test_a_run_directory_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResourceError, match="is a file, so no directory can be made under it"):
        require_writable(tmp_path / "file" / "run")
    with pytest.raises(ResourceError, match="exists and is not a directory"):
        require_writable(tmp_path / "file")
    require_writable(tmp_path / "new" / "run")
    assert list(tmp_path.iterdir()) == [tmp_path / "file"]  # the probe left nothing behind


def test_a_run_needing_more_disk_than_is_free_is_refused(tiny_spec, tmp_path):
    spec = tiny_spec(**{"train.keep_checkpoints": str(10**15)})  # a petabyte of checkpoints
    with pytest.raises(ResourceError, match="the run needs about .* of disk .* is free there"):
        require_disk_space(tmp_path, spec, estimate_resources(spec, registry=default_registry()))


def train_in_process(capsys, out, *extra):
    code = main(["train", str(SAGAN), "--out", str(out), "--no-progress", "--device", "cpu", *sets(), *extra])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    return err


def test_the_cli_refuses_before_creating_the_run(tmp_path, capsys):
    assert "of disk" in train_in_process(capsys, tmp_path / "run", "--set", f"train.keep_checkpoints={10**15}")
    assert not (tmp_path / "run").exists()


@pytest.fixture
def tmpfs(tmp_path):
    """``tmpfs(size, read_only=False)`` mounts a fresh tmpfs and returns its path (skips without root)."""
    mounted = []

    def mount(size: str, *, read_only: bool = False):
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        try:
            result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip("no mount command here")
        if result.returncode:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}); these tests need root")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_read_only_file_system_is_refused_before_training(tmpfs, capsys):
    mnt = tmpfs("1m", read_only=True)
    assert f"cannot write in {mnt} (Read-only file system)" in train_in_process(capsys, mnt / "run")


def test_a_disk_too_small_for_the_checkpoints_is_refused_before_training(tmpfs, capsys):
    mnt = tmpfs("512k")
    assert "is free there" in train_in_process(capsys, mnt / "run")
    assert list(mnt.iterdir()) == []


def fill(folder):
    """Write zeros into ``folder/filler`` until the file system is full."""
    block = b"\0" * (1 << 16)
    with open(folder / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError:
            pass


def test_the_disk_filling_up_mid_run_leaves_no_corrupt_checkpoint(tmpfs):
    mnt = tmpfs("16m")
    run = mnt / "run"
    command = [sys.executable, "-m", "ganparts", "train", str(SAGAN), "--out", str(run), "--no-progress",
               *sets(**{"train.steps": "2000", "train.checkpoint_every": "1", "train.log_every": "1", "train.keep_checkpoints": "2"})]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not list_checkpoints(run) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        fill(mnt)  # another program fills the disk while the run trains
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    assert proc.returncode == 2, err
    assert "No space left on device" in err and "Traceback" not in err
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]  # no partial write left
    for path in list_checkpoints(run):
        load_checkpoint(path)
    step = latest_checkpoint(run).step
    (mnt / "filler").unlink()
    result = run_cli("train", "--out", run, "--resume", "--no-progress", "--set", f"train.steps={step + 2}")
    assert result.returncode == 0, result.stderr
    assert f"from step {step} of {step + 2}" in result.stdout and latest_checkpoint(run).step == step + 2
