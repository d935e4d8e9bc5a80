"""Fixtures of the app tests: a runs folder with one tiny trained SAGAN, and the app under AppTest."""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from ganparts.runs import jobs
from tests.conftest import ROOT, SPECS, run_cli, tiny_overrides

APP = ROOT / "apps" / "streamlit_app.py"


def train_tiny(folder, spec: str, name: str):
    run = folder / name
    sets = [arg for kv in tiny_overrides() for arg in ("--set", kv)]
    result = run_cli("train", SPECS / spec, "--out", run, *sets, "--no-progress")
    assert result.returncode == 0, result.stderr
    return run


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A SAGAN (attention at 14×14 in G and D) trained for 6 tiny steps, with one checkpoint."""
    return train_tiny(tmp_path_factory.mktemp("trained"), "sagan_mnist.yaml", "tiny-sagan")


@pytest.fixture(scope="session")
def trained_baseline(tmp_path_factory):
    """The same without attention (dcgan_mnist.yaml)."""
    return train_tiny(tmp_path_factory.mktemp("trained"), "dcgan_mnist.yaml", "tiny-dcgan")


@pytest.fixture(scope="session")
def trained_conditional(tmp_path_factory):
    """A class-conditional SAGAN (sagan_cond_mnist.yaml: ten digits) trained for 6 tiny steps."""
    return train_tiny(tmp_path_factory.mktemp("trained"), "sagan_cond_mnist.yaml", "tiny-cond")


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """An empty runs folder the app reads (``$GANPARTS_RUNS``); training left running is stopped."""
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("GANPARTS_RUNS", str(folder))
    yield folder
    stop_training_in(folder)


def stop_training_in(folder):
    """Stop (then kill) every training process the app started for runs in ``folder``."""
    for run in folder.iterdir():
        if jobs.job_status(run).active and jobs.stop_training(run) and jobs.wait(run, timeout=30).active:
            os.kill(jobs.job_status(run).pid, signal.SIGKILL)


@pytest.fixture
def runs_with_trained(runs, trained_run):
    shutil.copytree(trained_run, runs / trained_run.name)
    return runs


@pytest.fixture
def app(runs):
    """The app at its first page, in a runs folder set up by the test (see ``runs``)."""
    from streamlit.testing.v1 import AppTest

    def start(page: str | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        if page:
            at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, at.exception
        return at

    return start


def captions(at) -> list[str]:
    """The captions of every picture on the page."""
    return [caption for image in at.get("image") for caption in image.captions]
