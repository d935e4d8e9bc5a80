"""``run_in_processes``: one spawned child per item, at most K at once, each with its thread share; stopping early stops them all."""

import os
import signal
import sys
import time

import pytest

from ganparts.runs.pool import INTERRUPTED, run_in_processes


def record(item):
    """A child's work: write when it ran and with how many threads, then end as ``item`` says."""
    import torch

    folder, name, exit_code = item
    (folder / f"{name}.start").write_text(f"{time.time()} {torch.get_num_threads()} {os.environ['OMP_NUM_THREADS']}")
    time.sleep(0.5)
    (folder / f"{name}.end").write_text(str(time.time()))
    if exit_code == INTERRUPTED:
        raise KeyboardInterrupt
    sys.exit(exit_code)


def sleep_forever(item):
    folder, name = item
    (folder / f"{name}.pid").write_text(str(os.getpid()))
    time.sleep(600)


def interval(folder, name):
    return float((folder / f"{name}.start").read_text().split()[0]), float((folder / f"{name}.end").read_text())


def test_every_item_runs_in_a_child_with_its_threads_and_exit_code(tmp_path):
    items = [(tmp_path, "a", 0), (tmp_path, "b", 3), (tmp_path, "c", INTERRUPTED), (tmp_path, "d", 0)]
    ended = list(run_in_processes(record, items, jobs=2, threads=1))
    assert sorted((item[1], code) for item, code in ended) == [("a", 0), ("b", 3), ("c", INTERRUPTED), ("d", 0)]
    for name in "abcd":
        assert (tmp_path / f"{name}.start").read_text().split()[1:] == ["1", "1"]  # torch's pool and the environment
    # Never more than two at once: whatever the timing, each of c and d started after a or b had ended.
    spans = {name: interval(tmp_path, name) for name in "abcd"}
    for late in "cd":
        assert min(spans["a"][1], spans["b"][1]) <= spans[late][0]


def test_an_exception_in_the_parent_terminates_the_children_still_running(tmp_path):
    def once_both_started(signum, frame):  # as Ctrl-C would, while the parent waits for a child to end
        if len(list(tmp_path.glob("*.pid"))) == 2:
            raise TimeoutError

    previous = signal.signal(signal.SIGALRM, once_both_started)
    signal.setitimer(signal.ITIMER_REAL, 0.2, 0.2)
    try:
        with pytest.raises(TimeoutError):
            for _ in run_in_processes(sleep_forever, [(tmp_path, name) for name in "abc"], jobs=2, threads=1):
                pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    for pid_file in tmp_path.glob("*.pid"):  # both sleepers are gone (terminated and reaped), the third never started
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)
    assert sorted(path.name for path in tmp_path.glob("*.pid")) == ["a.pid", "b.pid"]
