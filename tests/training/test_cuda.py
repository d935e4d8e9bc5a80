"""The CUDA path: no host sync in the step loop, fused Adam, exact resume. Skipped without a GPU
(the ``cuda`` marker, tests/conftest.py); benchmarks/gpu_check.sh runs them on a GPU machine."""

import os
import warnings

import pytest
import torch

from ganparts.plugins import default_registry
from ganparts.runs.checkpoints import latest_checkpoint
from ganparts.training import state
from ganparts.training.trainer import Trainer

# cuBLAS is deterministic only with a fixed workspace; it reads this when it first starts.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

pytestmark = pytest.mark.cuda  # what `pytest -m cuda` selects, and tests/conftest.py skips without a GPU


def trainer(spec, data, **kwargs) -> Trainer:
    return Trainer(spec, data=data, registry=default_registry(), device="cuda", **kwargs)


def fit_without_host_syncs(run: Trainer) -> None:
    """``run.fit()`` with every host sync an error, except in the log flush: the one sync fit() makes."""
    flush = run.flush_logs

    def flush_allowed():
        torch.cuda.set_sync_debug_mode("default")
        try:
            return flush()
        finally:
            torch.cuda.set_sync_debug_mode("error")

    run.flush_logs = flush_allowed
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        run.fit()
    finally:
        torch.cuda.set_sync_debug_mode("default")
        run.flush_logs = flush


@pytest.mark.parametrize("spec_file, extra", [
    ("sagan_mnist.yaml", {}),
    ("sagan_mnist.yaml", {"train.precision": "bf16"}),
    ("sagan_cond_mnist.yaml", {}),
    ("sagan_mnist.yaml", {"augment": "[{kind: translation, p: 0.5}, {kind: cutout, p: 0.5}]", "train.ada_target": "0.6", "train.ada_interval": "4"}),
], ids=["default", "bf16", "conditional", "ada"])
def test_fifty_steps_without_a_host_sync(spec_file, extra, tiny_spec, mnist5k):
    """fit() syncs with the host at its log flush only: none of 50 steps between two flushes may."""
    run = trainer(tiny_spec(spec_file, **{"train.steps": "50", "train.log_every": "1000"}, **extra), mnist5k)
    fit_without_host_syncs(run)
    assert run.step == 50 and all(torch.isfinite(w).all() for w in run.weights())


def test_adam_is_fused_on_cuda(tiny_spec, mnist5k):
    run = trainer(tiny_spec(), mnist5k)
    run.train_step(*run.sample_batch())
    for optimizer in (run.opt_g, run.opt_d):
        assert all(group["fused"] for group in optimizer.param_groups)
        assert all(s["step"].device.type == "cuda" for s in optimizer.state.values())  # no count on the host to sync with


@pytest.fixture
def deterministic():
    """Deterministic kernels (cuDNN, scatter/index backward, …) for the test's duration."""
    before = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    torch.use_deterministic_algorithms(before[0])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], before[2]


def test_resume_on_cuda_gives_the_same_weights_as_straight_training(tiny_spec, mnist5k, tmp_path, deterministic):
    half = 10
    straight = trainer(tiny_spec(**{"train.steps": str(2 * half)}), mnist5k, run_dir=tmp_path / "a")
    straight.fit()
    first = trainer(tiny_spec(**{"train.steps": str(half)}), mnist5k, run_dir=tmp_path / "b")
    first.fit()
    torch.manual_seed(12345)  # a resumed process starts from unrelated RNG state
    torch.cuda.manual_seed(12345)
    resumed = trainer(tiny_spec(**{"train.steps": str(2 * half)}), mnist5k, run_dir=tmp_path / "b")
    resumed.restore(latest_checkpoint(tmp_path / "b"))
    assert resumed.step == half and "rng.cuda" in latest_checkpoint(tmp_path / "b").tensors
    resumed.fit()

    a, b = (state.state_tensors(t) for t in (straight, resumed))
    nondeterministic = sorted({str(w.message) for w in deterministic if "deterministic" in str(w.message)})
    for key in a:
        if not key.startswith("rng"):
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=lambda m, key=key: f"{key}: {m}\nnon-deterministic kernels: {nondeterministic}")


def collect_logs(run: Trainer) -> list[dict]:
    """Every logged row of ``run``'s fit(), as its callbacks see them."""
    rows: list[dict] = []
    flush = run.flush_logs

    def flush_and_keep():
        flushed = flush()
        rows.extend(flushed)
        return flushed

    run.flush_logs = flush_and_keep
    return rows


def test_the_cuda_graph_trains_what_the_eager_loop_trains(tiny_spec, mnist5k, deterministic):
    """Issue #13: over 200 steps from one seed, the captured step's losses and weights match the eager loop's."""
    runs = {}
    for graph in ("false", "true"):
        run = trainer(tiny_spec(**{"train.steps": "200", "train.log_every": "10", "train.cuda_graph": graph}), mnist5k)
        rows = collect_logs(run)
        run.fit()
        runs[graph] = run, rows
    (eager, eager_rows), (graphed, graphed_rows) = runs["false"], runs["true"]
    assert graphed.captured_step.graph is not None and [r["step"] for r in graphed_rows] == list(range(1, 201))
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        torch.testing.assert_close(torch.tensor([r[key] for r in graphed_rows]), torch.tensor([r[key] for r in eager_rows]), rtol=1e-4, atol=1e-4)
    for a, b in zip(eager.weights(), graphed.weights()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_the_cuda_graph_replays_without_a_host_sync(tiny_spec, mnist5k):
    run = trainer(tiny_spec(**{"train.steps": "5", "train.log_every": "1000", "train.cuda_graph": "true"}), mnist5k)
    run.fit()  # three eager warm-up steps, the capture (torch.cuda.graph synchronises), two replays
    assert run.captured_step.graph is not None
    run.spec = run.spec.model_copy(update={"train": run.spec.train.model_copy(update={"steps": 55})})
    fit_without_host_syncs(run)
    assert run.step == 55 and all(torch.isfinite(w).all() for w in run.weights())


def test_a_cuda_graph_run_resumes_to_the_weights_of_straight_training(tiny_spec, mnist5k, tmp_path, deterministic):
    """The resumed run warms up eagerly and captures again; its steps are the same kernels the graph replays."""
    def spec(steps):
        return tiny_spec(**{"train.steps": str(steps), "train.cuda_graph": "true"})

    straight = trainer(spec(20), mnist5k, run_dir=tmp_path / "a")
    straight.fit()
    trainer(spec(10), mnist5k, run_dir=tmp_path / "b").fit()
    resumed = trainer(spec(20), mnist5k, run_dir=tmp_path / "b")
    resumed.restore(latest_checkpoint(tmp_path / "b"))
    resumed.fit()
    assert resumed.captured_step.graph is not None
    a, b = (state.state_tensors(t) for t in (straight, resumed))
    for key in a:
        if not key.startswith("rng"):
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=lambda m, key=key: f"{key}: {m}")
