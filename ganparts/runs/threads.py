"""How many CPU threads a ganparts process may use, so processes sharing a machine do not fight.

A torch process sizes its intra-op thread pool to every core. Two such processes on two cores
spin-wait on each other's OpenMP threads, and together they train at a fraction of what one
alone does (docs/performance.md, "Running several things at once"). So every process ganparts
starts gets an explicit share: a background training ``cores / K`` of the machine while K of
them run, a short command (``validate``, ``build``, …) one thread, and ``train.threads`` or
``$GANPARTS_THREADS`` override the automatic choice.
"""

from __future__ import annotations

import os

THREADS_ENV = "GANPARTS_THREADS"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def share(jobs: int) -> int:
    """Threads for each of ``jobs`` processes that share this machine (at least one)."""
    return max(1, available_cores() // max(1, jobs))


def budget(requested: int = 0, *, processes: int = 1) -> int:
    """This process's threads: ``requested`` (a spec's ``train.threads``; 0: automatic), else ``$GANPARTS_THREADS``,
    else ``$OMP_NUM_THREADS`` (the user's own limit), else its share of the cores among ``processes``
    (e.g. torchrun's ranks on this machine)."""
    if requested:
        return requested
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return share(processes)


def limit(threads: int) -> None:
    """Size torch's thread pool to ``threads`` (torch reads OMP_NUM_THREADS only at start-up)."""
    import torch

    torch.set_num_threads(threads)


def child_env(threads: int) -> dict[str, str]:
    """Environment variables that give a child process ``threads`` threads from its first line on."""
    return {THREADS_ENV: str(threads), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
