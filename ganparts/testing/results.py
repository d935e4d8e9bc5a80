"""What a contract check found: one :class:`CheckResult` per named check, and the error that
collects the failures for a test."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Literal

from ganparts.errors import one_line

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """One check of one block: ``block`` is ``kind:name`` (``attention:axial``)."""

    block: str
    check: str
    status: Status
    reason: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


class ContractError(AssertionError):
    """A block broke its contract; ``results`` holds every check, the failed ones first in the message."""

    def __init__(self, results: list[CheckResult]) -> None:
        self.results = results
        failed = [r for r in results if r.failed]
        blocks = ", ".join(dict.fromkeys(r.block for r in failed))
        lines = [f"{blocks} breaks the block contract:"] + [f"  {r.check}: {r.reason}" for r in failed]
        super().__init__("\n".join(lines))


class Skip(Exception):
    """Raised inside a check that does not apply to this block (the reason says why)."""


class Note(Exception):
    """Raised at the end of a check that passed, with something the author should know."""


class Checks:
    """Runs named checks of one block and keeps their results::

        checks = Checks("attention:axial")
        with checks.run("keeps the shape"):
            assert y.shape == x.shape, f"..."
        return checks.finish(raise_on_failure)

    An ``AssertionError``'s message is the reason as written; any other exception is
    quoted as ``Type: message``.
    """

    def __init__(self, block: str) -> None:
        self.block = block
        self.results: list[CheckResult] = []

    @contextlib.contextmanager
    def run(self, check: str) -> Iterator[None]:
        try:
            yield
        except Skip as skip:
            self.results.append(CheckResult(self.block, check, "skip", str(skip)))
        except Note as note:
            self.results.append(CheckResult(self.block, check, "pass", str(note)))
        except AssertionError as err:
            # pytest rewrites the asserts of installed plugins (ganparts is one, through its pytest11
            # entry point) and appends "\nassert <explanation>" to the message: the reason is before it.
            reason = str(err).split("\nassert ", 1)[0]
            self.results.append(CheckResult(self.block, check, "fail", reason or "assertion failed"))
        except Exception as err:  # noqa: BLE001 — whatever a block raises is that check's failure
            self.results.append(CheckResult(self.block, check, "fail", one_line(err)))
        else:
            self.results.append(CheckResult(self.block, check, "pass"))

    def skip(self, check: str, reason: str) -> None:
        self.results.append(CheckResult(self.block, check, "skip", reason))

    def passed(self, check: str) -> bool:
        return any(r.check == check and r.status == "pass" for r in self.results)

    def finish(self, raise_on_failure: bool) -> list[CheckResult]:
        """The results; with ``raise_on_failure``, a :class:`ContractError` when any check failed."""
        if raise_on_failure and any(r.failed for r in self.results):
            raise ContractError(self.results)
        return self.results
