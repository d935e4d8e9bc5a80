"""Shared fixtures: tiny specs, the offline dataset, a CLI runner, throwaway plugin distributions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ganparts.data.sources import load_images
from ganparts.plugins import default_registry
from ganparts.runs import threads
from ganparts.spec.files import load_spec
from ganparts.testing import train_block  # noqa: F401 — the fixture plugin authors get (also a pytest11 plugin)

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
MNIST_SHAPE = (1, 28, 28)  # what the example specs' data sources declare (DatasetSpec.image_shape)

# `make test` runs the suite in one pytest-xdist worker per core: most tests are bound by Python
# and by subprocess start-up, not arithmetic, so on 2 cores two single-threaded workers finish
# the suite in little more than half the time of one. Each worker, and every process it starts, takes its
# share of the cores (ganparts.runs.threads), so the workers never fight over them.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
THREADS = min(2, threads.share(WORKERS))
torch.set_num_threads(THREADS)
if WORKERS > 1:
    os.environ.update(threads.child_env(THREADS))


@pytest.fixture(autouse=True)
def torch_threads():
    """Give every test the session's thread pool back: the app and the in-process CLI's short
    commands size it to one thread (ganparts/runs/threads.py), which would otherwise leave every
    later in-process training in the suite on one core."""
    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)


def tiny_overrides(**extra: str) -> list[str]:
    """``--set`` overrides that shrink any spec to seconds-long CPU training."""
    sets = {
        "data.source": "mnist-5k",
        "data.batch_size": "8",
        "model.z_dim": "16",
        "model.generator.width": "8",
        "model.discriminator.width": "8",
        "train.steps": "6",
        "train.log_every": "3",
        "train.sample_every": "0",
        "train.checkpoint_every": "0",
        "train.grid_size": "4",
    } | extra
    return [f"{k}={v}" for k, v in sets.items()]


def allowed(kind: str) -> str:
    """Registered names of ``kind`` (installed plugins included) as error messages list them."""
    return ", ".join(repr(name) for name in default_registry().list(kind))


@pytest.fixture(scope="session", autouse=True)
def feature_cache(tmp_path_factory):
    """A fresh feature-network cache for the whole session (subprocesses inherit it): the
    MNIST feature network is trained at most once per session, never into the user's cache.
    Parallel workers share one (training takes a lock on it, so the first trains, the others wait)."""
    if WORKERS > 1:  # every worker's base temp lies in the session's one
        path = tmp_path_factory.getbasetemp().parent / "feature-cache"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("feature-cache")
    previous = os.environ.get("GANPARTS_FEATURE_CACHE")
    os.environ["GANPARTS_FEATURE_CACHE"] = str(path)
    yield path
    if previous is None:
        del os.environ["GANPARTS_FEATURE_CACHE"]
    else:
        os.environ["GANPARTS_FEATURE_CACHE"] = previous


@pytest.fixture(scope="session")
def mnist_cnn_5k(feature_cache):
    """The MNIST feature network for mnist-5k (trained on first use, then read from the cache)."""
    from ganparts.metrics.evaluate import load_extractor

    return load_extractor("mnist-5k", registry=default_registry())


@pytest.fixture(scope="session")
def registry():
    return default_registry()


@pytest.fixture
def tiny_spec():
    """A factory: ``tiny_spec(path='sagan_mnist.yaml', **overrides)`` → validated Experiment."""

    def make(path: str = "sagan_mnist.yaml", **extra: str):
        return load_spec(SPECS / path, tiny_overrides(**extra), registry=default_registry())

    return make


@pytest.fixture(scope="session")
def mnist5k():
    return load_images("mnist-5k", registry=default_registry())


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m ganparts ARGS`` in a subprocess, capturing text output."""
    return subprocess.run(
        [sys.executable, "-m", "ganparts", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or ROOT, env={**os.environ, **(env or {})}, timeout=600,
    )


def make_distribution(root, module: str, source: str, *, plugin: str | None = None, version: str = "1.0"):
    """Install a plugin under ``root`` as pip would leave it; returns the distribution's name.

    Writes ``module.py`` and ``<module>-<version>.dist-info/`` (METADATA, entry_points.txt)
    declaring ``plugin = module`` (default plugin name: the module's) in group ``ganparts``.
    """
    distribution = module.replace("_", "-")
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[ganparts]\n{plugin or module} = {module}\n")
    return distribution


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` (pyproject.toml registers the marker) skip where torch sees no GPU."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; torch.cuda.is_available() is False")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)
