"""Thread budgets: every process ganparts starts takes an explicit share of the cores."""

import os

import pytest
import torch

from ganparts.cli import main
from ganparts.runs import threads
from tests.conftest import SPECS


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_each_of_k_jobs_gets_its_share_and_at_least_one(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    assert [threads.share(k) for k in (1, 2, 3, 8, 20)] == [8, 4, 2, 1, 1]


def test_the_budget_prefers_the_spec_then_the_environment_then_a_share(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    monkeypatch.delenv(threads.THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.budget() == 8 and threads.budget(processes=2) == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.budget(processes=2) == 3  # the user's own limit
    monkeypatch.setenv(threads.THREADS_ENV, "2")
    assert threads.budget() == 2
    assert threads.budget(5) == 5  # train.threads


def test_a_child_gets_its_threads_before_torch_starts():
    env = threads.child_env(3)
    assert env == {threads.THREADS_ENV: "3", "OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3"}
    assert all(isinstance(v, str) for v in env.values()) and os.environ.get(threads.THREADS_ENV) != "3"


def test_a_short_command_uses_one_thread(restore_threads, capsys):
    torch.set_num_threads(2)
    assert main(["validate", str(SPECS / "sagan_mnist.yaml"), "--set", "data.source=mnist-5k"]) == 0
    assert torch.get_num_threads() == 1 and "valid" in capsys.readouterr().out


def test_train_threads_is_a_spec_field_a_resume_may_change(tiny_spec):
    from ganparts.cli.train import RESUMABLE_CHANGES

    assert tiny_spec(**{"train.threads": "1"}).train.threads == 1 and "threads" in RESUMABLE_CHANGES
