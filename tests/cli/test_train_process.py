"""`ganparts train` as a process. Ctrl-C once stops gracefully (checkpoint, exit 0, how to
resume); twice aborts at once (exit 130, one line, no traceback, no partial checkpoint).
A second process cannot train the same run at the same time."""

import json
import signal
import subprocess
import sys
import time

from ganparts.runs.checkpoints import list_checkpoints, load_checkpoint
from ganparts.cli import main
from tests.conftest import SPECS, tiny_overrides


def start(run, **extra):
    sets = tiny_overrides(**{"train.steps": "100000", "train.log_every": "1"} | extra)
    command = [sys.executable, "-m", "ganparts", "train", str(SPECS / "sagan_mnist.yaml"), "--out", str(run), "--no-progress",
               *[a for s in sets for a in ("--set", s)]]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not ((run / "metrics.jsonl").exists() and (run / "metrics.jsonl").stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def test_a_second_trainer_is_refused_and_ctrl_c_saves_and_says_how_to_resume(tmp_path, capsys):
    run = tmp_path / "r"
    proc = start(run)
    try:
        code = main(["train", "--out", str(run), "--resume", "--no-progress", "--device", "cpu"])
        err = capsys.readouterr().err
        assert code == 2 and f"{run} is being trained by another process" in err, err
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    step = json.loads((run / "progress.json").read_text())["step"]
    assert f"stopped at step {step}; checkpoint saved. Continue with: ganparts train --out {run} --resume" in out
    assert load_checkpoint(list_checkpoints(run)[-1]).step == step


def test_ctrl_c_twice_aborts_without_a_traceback_or_partial_checkpoint(tmp_path):
    run = tmp_path / "r"
    # Wider networks make a step last long enough for the second signal to land inside it.
    proc = start(run, **{"model.generator.width": "64", "model.discriminator.width": "64", "data.batch_size": "64",
                         "train.checkpoint_every": "1"})
    proc.send_signal(signal.SIGINT)
    time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == "ganparts: interrupted" and "Traceback" not in err
    assert not [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    for path in list_checkpoints(run):
        load_checkpoint(path)

