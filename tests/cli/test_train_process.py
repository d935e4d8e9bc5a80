"""`ganparts train` as a process. Ctrl-C once stops gracefully (checkpoint, exit 0, how to
resume); twice aborts at once (exit 130, one line, no traceback, no partial checkpoint).
A second process cannot train the same run at the same time."""

import json
import os
import signal
import subprocess
import sys
import time

from ganparts import plugins
from ganparts.runs.checkpoints import list_checkpoints, load_checkpoint
from ganparts.cli import main
from tests.conftest import SPECS, make_distribution, tiny_overrides

# A generator attention block that holds the training step it runs in while the file $HOLD_STEP exists,
# noting each SIGINT the process handles in $HOLD_STEP.signalled: the test can then send the
# second Ctrl-C after the first has been handled and before the step ends, whatever the speed.
HOLD = """
import os
import signal
import time
from pathlib import Path
from typing import Literal

from torch import nn

from ganparts.blocks.attention import AttentionSpec
from ganparts.hookspecs import hookimpl


class HoldSpec(AttentionSpec):
    kind: Literal["hold"] = "hold"


class Hold(nn.Module):
    def forward(self, x):
        hold = Path(os.environ["HOLD_STEP"])
        if self.training and hold.exists():  # a training step's G, not the EMA copy drawing for a checkpoint
            handler = signal.getsignal(signal.SIGINT)  # the one `ganparts train` installed

            def noted(signum, frame):
                handler(signum, frame)
                hold.with_suffix(".signalled").touch()

            signal.signal(signal.SIGINT, noted)
            hold.with_suffix(".held").touch()
            while hold.exists():
                time.sleep(0.01)
        return x


@hookimpl
def ganparts_register(registry):
    registry.register("attention", spec=HoldSpec, builder=lambda s, *, channels: Hold())
"""


def start(run, env=None, **extra):
    sets = tiny_overrides(**{"train.steps": "100000", "train.log_every": "1"} | extra)
    command = [sys.executable, "-m", "ganparts", "train", str(SPECS / "sagan_mnist.yaml"), "--out", str(run), "--no-progress",
               *[a for s in sets for a in ("--set", s)]]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    wait_for(lambda: (run / "metrics.jsonl").exists() and (run / "metrics.jsonl").stat().st_size, proc)
    return proc


def wait_for(condition, proc):
    """Poll ``condition`` while ``proc`` runs, for at most five minutes (a limit, not a speed requirement)."""
    deadline = time.monotonic() + 300
    while not condition() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


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
    run, site, hold = tmp_path / "r", tmp_path / "site", tmp_path / "hold"
    site.mkdir()
    make_distribution(site, "hold_step", HOLD)
    path = [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {"PYTHONPATH": os.pathsep.join(path), "HOLD_STEP": str(hold), plugins.DISABLE_AUTOLOAD_ENV: "0"}
    proc = start(run, env, **{"model.generator.attention.0.kind": "hold", "train.checkpoint_every": "1"})
    try:
        hold.touch()  # the next step stops inside the generator
        wait_for(hold.with_suffix(".held").exists, proc)
        proc.send_signal(signal.SIGINT)  # asks for a graceful stop after this step
        wait_for(hold.with_suffix(".signalled").exists, proc)
        proc.send_signal(signal.SIGINT)  # the step is still running: abort
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == "ganparts: interrupted" and "Traceback" not in err
    assert not [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    for path in list_checkpoints(run):
        load_checkpoint(path)

