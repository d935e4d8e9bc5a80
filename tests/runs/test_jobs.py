"""Background training: a detached `ganparts train` per run, found again by its pid file.

Stopping (SIGTERM) and resuming are tested through the Train page (tests/app/test_train_page.py).
"""

import os

import pytest

from ganparts.runs import jobs
from tests.conftest import SPECS


@pytest.fixture
def spec(tiny_spec):
    return tiny_spec()


def test_a_run_trains_in_the_background_to_the_end(spec, tmp_path):
    run = tmp_path / "a"
    pid = jobs.start_training(run, spec)
    assert jobs.job_status(run).pid == pid  # starting or running, and found again from the pid file
    with pytest.raises(jobs.JobError, match="already training"):
        jobs.start_training(run, steps=10)
    status = jobs.wait(run, timeout=120)
    assert (status.state, status.pid, status.fraction) == ("finished", None, 1.0)
    assert (run / "checkpoints" / "step_00000006").is_dir() and (run / "samples" / "step_00000006.png").is_file()
    assert "step 6" in (run / jobs.LOG_FILE).read_text()
    with pytest.raises(jobs.JobError, match="already exists"):
        jobs.start_training(run, spec)


def test_a_crash_is_reported_with_the_end_of_its_log(tiny_spec, tmp_path):
    spec = tiny_spec(**{"data.source": "mnist", "data.download": "false", "data.root": str(tmp_path / "no-mnist")})
    jobs.start_training(tmp_path / "crash", spec)
    status = jobs.wait(tmp_path / "crash", timeout=120)
    assert status.state == "failed"
    assert "Dataset not found" in status.message


def test_a_run_never_trained_from_the_app_reads_its_progress_file(tmp_path):
    assert jobs.job_status(tmp_path).state == "new"
    (tmp_path / "progress.json").write_text('{"state": "finished", "step": 3, "steps": 3}')
    assert jobs.job_status(tmp_path).state == "finished" and not jobs.stop_training(tmp_path)
    with pytest.raises(jobs.JobError, match="not a run"):
        jobs.start_training(tmp_path / "nothing")


def test_a_reused_pid_is_not_taken_for_training():
    assert not jobs._is_training(os.getpid(), ["python", "-m", "ganparts", "train"])
    assert not jobs._is_training(2**22 + 12345, ["x"])  # no such process


def test_the_child_imports_this_ganparts():
    assert jobs.child_env()["PYTHONPATH"].split(os.pathsep)[0] == str(SPECS.parent)
