"""Runs trained before a spec field existed still sample and resume, as what they were (spec.recorded).

The run here is made old by hand: trained with the value of its time, then that field
dropped from its recorded specs, as an older ganparts wrote them.
"""

import hashlib
import json

import pytest

from ganparts.cli import main
from ganparts.runs import checkpoints as ckpt
from tests.conftest import SPECS, tiny_overrides


def sets(**extra):
    return [arg for kv in tiny_overrides(**extra) for arg in ("--set", kv)]


def forget_field(spec_file, field):
    lines = spec_file.read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.strip() != field]
    assert len(kept) == len(lines) - 1
    spec_file.write_text("".join(kept))


@pytest.fixture
def older_run(tmp_path):
    run = tmp_path / "older"
    assert main(["train", str(SPECS / "dcgan_mnist.yaml"), "--out", str(run), "--no-progress", *sets(**{"train.steps": "2", "model.generator.stem_bias": "true"})]) == 0
    checkpoint = ckpt.latest_checkpoint(run).path
    for spec_file in (run / "spec.yaml", checkpoint / ckpt.SPEC):
        forget_field(spec_file, "stem_bias: true")
    state = json.loads((checkpoint / ckpt.STATE).read_text())
    state["sha256"][ckpt.SPEC] = hashlib.sha256((checkpoint / ckpt.SPEC).read_bytes()).hexdigest()
    (checkpoint / ckpt.STATE).write_text(json.dumps(state))
    return run


def test_an_older_run_samples_and_resumes_with_its_own_spec(older_run, tmp_path):
    assert main(["sample", str(older_run), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["train", "--out", str(older_run), "--resume", "--no-progress", "--set", "train.steps=3"]) == 0
    assert ckpt.latest_checkpoint(older_run).step == 3
    assert "stem_bias: true" in (older_run / "spec.yaml").read_text()  # recorded in full again


def test_resuming_an_older_run_from_today_s_spec_file_names_the_field(older_run, capsys):
    assert main(["train", str(SPECS / "dcgan_mnist.yaml"), "--out", str(older_run), "--resume", *sets(**{"train.steps": "3"})]) == 2
    assert "model.generator.stem_bias: False here, True in the checkpoint" in capsys.readouterr().err
