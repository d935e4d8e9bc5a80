"""Run a function on each of several items, up to K child processes at a time (``compare --jobs K``).

Each item gets a fresh ``spawn``ed process: a clean torch (and CUDA context) with its own
thread pool sized to its share of the cores, so K trainings on one machine neither fight over
the cores (threads.py says why) nor share state. A child reports only through its exit code;
what it produces it writes itself (a study run its ``result.json``). When the parent stops
early (an error, Ctrl-C, a consumer that stops iterating) every child still running is
terminated, so nothing goes on training behind the user's back.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from multiprocessing.connection import wait
from typing import Callable, Iterable, Iterator, TypeVar

from ganparts.runs import threads as thread_budget

Item = TypeVar("Item")
INTERRUPTED = 130  # a child's exit code after Ctrl-C, as a shell reports it


def run_in_processes(target: Callable[[Item], None], items: Iterable[Item], *, jobs: int, threads: int) -> Iterator[tuple[Item, int]]:
    """Call ``target(item)`` in a child process per item, at most ``jobs`` at once, each with
    ``threads`` CPU threads. Yields ``(item, exit code)`` as children end (0: returned normally);
    items start in the order given. ``target`` must be importable by name (a module-level function)."""
    context = multiprocessing.get_context("spawn")
    pending = list(items)
    running: dict[int, tuple[multiprocessing.Process, Item]] = {}  # by the process's sentinel
    try:
        while pending or running:
            while pending and len(running) < jobs:
                item = pending.pop(0)
                # Not daemonic: a child may start processes of its own (torch.compile's compile workers).
                process = context.Process(target=_child, args=(target, item, threads))
                process.start()
                running[process.sentinel] = (process, item)
            for sentinel in wait(list(running)):
                process, item = running.pop(sentinel)
                process.join()
                yield item, process.exitcode
    finally:
        for process, _ in running.values():
            process.terminate()
        for process, _ in running.values():
            process.join()


def _child(target: Callable[[Item], None], item: Item, threads: int) -> None:
    os.environ.update(thread_budget.child_env(threads))  # for anything this child starts in turn
    thread_budget.limit(threads)
    try:
        target(item)
    except KeyboardInterrupt:  # Ctrl-C reaches every process of the terminal; the parent reports it
        sys.exit(INTERRUPTED)
