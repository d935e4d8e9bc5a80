"""``train``: train a spec into a run directory, or resume one."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from pathlib import Path

from ganparts.runs import checkpoints as ckpt
from ganparts.training import distributed, resources
from ganparts.training.preflight import preflight
from ganparts.plugins import default_registry
from ganparts.training.callbacks import ProgressBar, ProgressFile
from ganparts.cli import add_spec_options, resolve_device
from ganparts.data.sources import load_images
from ganparts.errors import UserError
from ganparts.runs import threads
from ganparts.runs.layout import RunDir
from ganparts.runs.listing import spec_differences
from ganparts.spec import provenance
from ganparts.spec.experiment import Experiment
from ganparts.spec.files import load_spec, parse_spec_text, spec_to_data, validate_spec
from ganparts.training.trainer import Trainer

# Fields a resumed run may change: the schedule, how the same computation runs, and how the
# starting weights were set (a checkpoint replaces them); everything else must match the checkpoint.
RESUMABLE_CHANGES = {
    "steps", "sample_every", "checkpoint_every", "log_every", "keep_checkpoints", "eval_every", "on_nonfinite",
    "compile", "compile_mode", "cuda_graph", "threads", "match_data_brightness",
}


def add_commands(commands) -> None:
    p = commands.add_parser(
        "train", help="train a spec; --resume continues the run in --out",
        description="Train a spec. Under torchrun (torchrun --nproc_per_node=N -m ganparts train …) it trains data-parallel on N processes.",
    )
    p.add_argument("spec", nargs="?", help="spec file (optional with --resume: the run's own spec.yaml)")
    p.add_argument("--out", required=True, type=Path, help="run directory (created)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out (a fresh --out just starts)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:1 …")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_spec_options(p)
    p.set_defaults(handler=train)


def train(args) -> int:
    ranks, device = distributed.setup(resolve_device(args.device))
    finished = False
    try:
        with contextlib.ExitStack() as held:  # what _train holds while it trains (the run's lock)
            status = _train(args, ranks, device, held)
        finished = True
        return status
    finally:
        distributed.teardown(finished=finished)


def _train(args, ranks: distributed.Ranks, device, held: contextlib.ExitStack) -> int:
    run = RunDir(args.out)
    found = _latest_checkpoint(run) if run.path.is_dir() else None
    if found and not args.resume:
        raise UserError(f"{run.path} already holds a run (step {found.step}); add --resume to continue it, or choose another --out")
    if args.spec is None:
        if not (args.resume and run.spec.exists()):
            raise UserError("a spec file is required (only --resume of an existing run can use the run's own spec.yaml)")
        args.spec = run.spec
    registry = default_registry()
    if found:  # a resumed run whose plugin is missing: say what to install, not which kind is unknown
        provenance.require_recorded(found.state.get("blocks"), registry, where=str(found.path))
    spec = load_spec(args.spec, args.overrides, registry=registry)
    if found:
        _check_same_experiment(spec, validate_spec(parse_spec_text(found.spec_text, where=str(found.path / ckpt.SPEC)), registry))

    threads.limit(threads.budget(spec.train.threads, processes=int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    # Everything that can be known to fail is refused here, before anything is written.
    estimate = preflight(spec, registry=registry, device=device, batch_size=distributed.local_batch_size(spec.data.batch_size, ranks))
    if ranks.is_main:
        resources.require_writable(run.path)
        resources.require_disk_space(
            run.path, spec, estimate, from_step=found.step if found else 0, checkpoints_present=len(ckpt.list_checkpoints(run.path))
        )
        held.enter_context(_only_trainer_of(run))
    callbacks = []
    if ranks.is_main:
        callbacks = [ProgressFile()] + ([] if args.no_progress else [ProgressBar()])
        if spec.train.eval_every:
            from ganparts.metrics.periodic import PeriodicEval  # torchmetrics takes seconds to import: only when asked

            callbacks.append(PeriodicEval(every=spec.train.eval_every))
    data = distributed.main_first(lambda: load_images(spec.data.source, registry=registry, root=spec.data.root, download=spec.data.download), ranks)
    trainer = Trainer(spec, registry=registry, run_dir=run.path, device=device, callbacks=callbacks, data=data, ranks=ranks)
    if found:
        trainer.restore(found)
        if ranks.is_main:
            print(f"ganparts: resuming {run.path} from step {found.step} of {spec.train.steps}")
    elif ranks.is_main and run.metrics.exists():  # a start killed before its first checkpoint: begin the log afresh
        run.truncate_metrics(0)
    _stop_gracefully_on_signals(trainer)
    try:
        trainer.fit()
    except (UserError, OSError) as err:
        failure = _write_failure(run, trainer.step, err) if isinstance(err, OSError) else err
        if ranks.is_main:
            _mark_failed(run, failure)
        raise failure from None
    if not ranks.is_main:
        return 0
    if trainer.stop_requested:
        print(f"ganparts: stopped at step {trainer.step}; checkpoint saved. Continue with: ganparts train --out {run.path} --resume")
    else:
        print(f"ganparts: {run.path}: step {trainer.step}; samples in {run.samples}, checkpoints in {ckpt.checkpoint_dir(run.path)}, metrics in {run.metrics}")
    return 0


def _latest_checkpoint(run: RunDir) -> ckpt.Checkpoint | None:
    """The newest checkpoint; if it is damaged, the error says which earlier one is left."""
    try:
        return ckpt.latest_checkpoint(run.path)
    except ckpt.CheckpointError as err:
        earlier = ckpt.list_checkpoints(run.path)[:-1]
        if not earlier:
            raise
        raise ckpt.CheckpointError(
            f"{err}\nthe run also has {earlier[-1].name}; to resume from it, move the damaged checkpoint out of {earlier[-1].parent}"
        ) from None


def _only_trainer_of(run: RunDir):
    """An exclusive lock on ``RUN/.train.lock``, held until the returned file is closed.

    Two processes training one run would interleave their checkpoints and metrics; the
    second is refused. The kernel drops the lock when its process dies, even by SIGKILL.
    """
    run.path.mkdir(parents=True, exist_ok=True)
    handle = open(run.path / ".train.lock", "a")  # noqa: SIM115 — must outlive this function
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError(f"{run.path} is being trained by another process; wait for it to finish or stop it first") from None
    return handle


def _write_failure(run: RunDir, step: int, err: OSError) -> UserError:
    """A file-system failure mid-run (disk full, read-only, …) as a short message with the way back."""
    where = f" ({err.filename})" if err.filename else ""
    return UserError(
        f"{run.path}: {err.strerror or err}{where} at step {step};\n{ckpt.last_complete(run.path)}; make room and continue with: "
        f"ganparts train --out {run.path} --resume"
    )


def _mark_failed(run: RunDir, err: Exception) -> None:
    """Leave ``progress.json`` saying the run failed and why (if the disk still takes a write)."""
    with contextlib.suppress(OSError):
        run.write_progress((run.read_progress() or {}) | {"state": "failed", "error": str(err), "updated": time.time()})


def _stop_gracefully_on_signals(trainer: Trainer) -> None:
    """SIGINT/SIGTERM finish the current step, save a checkpoint and exit 0; a second one aborts."""

    def handler(signum, frame):
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.request_stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def _check_same_experiment(new: Experiment, old: Experiment) -> None:
    a, b = spec_to_data(new), spec_to_data(old)
    for section in (a, b):
        section["train"] = {k: v for k, v in section["train"].items() if k not in RESUMABLE_CHANGES}
        section.pop("name")
    differences = spec_differences({"here": a, "checkpoint": b})
    if differences:
        lines = [f"{path}: {values['here']!r} here, {values['checkpoint']!r} in the checkpoint" for path, values in differences.items()]
        raise UserError("\n".join(["the spec differs from the run being resumed (only train.steps and the schedule may change):", *lines]))
