"""Training callbacks: the terminal progress bar, the progress file the app reads, a time budget."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ganparts.training.trainer import Trainer


class Callback:
    """Override any of these; each is called with the trainer."""

    def on_train_start(self, trainer: Trainer) -> None: ...

    def on_log(self, trainer: Trainer, rows: list[dict[str, Any]]) -> None:
        """``rows``: the per-step metrics just flushed (at most ``train.log_every`` of them)."""

    def on_step_end(self, trainer: Trainer) -> None:
        """After every step (``trainer.step`` is its number), before a checkpoint due at it; keep it cheap."""

    def on_train_end(self, trainer: Trainer) -> None: ...


class ProgressBar(Callback):
    """A tqdm bar over steps with the latest losses, updated once per log flush."""

    def __init__(self, **tqdm_kwargs: Any) -> None:
        self.kwargs = tqdm_kwargs
        self.bar = None

    def on_train_start(self, trainer: Trainer) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.spec.train.steps, initial=trainer.step, unit="step", dynamic_ncols=True, **self.kwargs)

    def on_log(self, trainer: Trainer, rows: list[dict[str, Any]]) -> None:
        last = rows[-1]
        self.bar.set_postfix({k: f"{last[k]:.3f}" for k in ("d_loss", "g_loss")}, refresh=False)
        self.bar.update(last["step"] - self.bar.n)

    def on_train_end(self, trainer: Trainer) -> None:
        self.bar.close()


class ProgressFile(Callback):
    """Keeps ``RUN/progress.json`` current: step, total, rate, ETA, state, latest losses."""

    def on_train_start(self, trainer: Trainer) -> None:
        self.start_step, self.start_time = trainer.step, time.time()
        self._write(trainer, "running", {})

    def on_log(self, trainer: Trainer, rows: list[dict[str, Any]]) -> None:
        self._write(trainer, "running", rows[-1])

    def on_train_end(self, trainer: Trainer) -> None:
        state = "stopped" if trainer.step < trainer.spec.train.steps else "finished"
        self._write(trainer, state, {})

    def _write(self, trainer: Trainer, state: str, last: dict[str, Any]) -> None:
        if trainer.run is None:
            return
        elapsed = time.time() - self.start_time
        done = trainer.step - self.start_step
        rate = done / elapsed if elapsed > 0 and done else None
        remaining = trainer.spec.train.steps - trainer.step
        trainer.run.write_progress({
            "state": state, "step": trainer.step, "steps": trainer.spec.train.steps,
            "steps_per_s": rate, "eta_s": remaining / rate if rate else None,
            "elapsed_s": elapsed, "updated": time.time(), "last": last,
        })


class TimeBudget(Callback):
    """Requests a stop once ``clock()`` (training seconds) reaches ``seconds``; checked at each log flush.

    The run ends at the budget, not at ``train.steps``, so a decaying learning rate follows the
    budget: the fraction of its seconds spent is the run's progress."""

    def __init__(self, *, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds, self.clock = seconds, clock

    def on_train_start(self, trainer: Trainer) -> None:
        trainer.learning_rates.follow(lambda: self.clock() / self.seconds)

    def on_log(self, trainer: Trainer, rows: list[dict[str, Any]]) -> None:
        if self.clock() >= self.seconds:
            trainer.request_stop()
