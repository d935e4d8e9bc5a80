"""Which installed distributions provided the blocks of a run, and checking them on load.

A run records, for every block its spec uses, the plugin and the distribution (with its
version) that registered it: in each checkpoint's ``state.json`` (``"blocks"``) and as a
comment at the top of ``spec.yaml``. Loading the run later compares that record with the
registry at hand, so a missing plugin is named with what to install::

    this run needs block `axial` from ganparts-axial 0.1.0 (not installed)

and a different version of it is one warning line, not an error.
"""

from __future__ import annotations

import importlib.metadata
import logging
from typing import Any

from pydantic import BaseModel

from ganparts.errors import UserError
from ganparts.spec.blocks import blocks_used
from ganparts.spec.registry import KINDS, Registry

log = logging.getLogger("ganparts")

FIELDS = ("kind", "name", "plugin", "distribution", "version")


class MissingBlockError(UserError):
    """A run uses a block the registry does not have; the message says what to install."""


def record(experiment: BaseModel, registry: Registry) -> list[dict[str, str]]:
    """One ``{kind, name, plugin, distribution, version}`` per distinct block ``experiment`` uses."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for use in blocks_used(experiment, registry):
        entry = use.entry
        seen.setdefault((entry.kind, entry.name), {
            "kind": entry.kind, "name": entry.name, "plugin": entry.plugin,
            "distribution": entry.distribution, "version": entry.version,
        })
    return list(seen.values())


def comment(records: list[dict[str, str]]) -> str:
    """``spec.yaml``'s header: the record as YAML comment lines (a reader of the file sees them;
    parsing ignores them)."""
    lines = ["# Blocks of this run and the distributions that provided them:"]
    lines += [f"#   {r['kind']} {r['name']}: {_dist(r) or 'unknown'} (plugin {r['plugin']})" for r in records]
    return "\n".join(lines) + "\n"


def require_recorded(records: Any, registry: Registry, *, where: str) -> None:
    """Raise :class:`MissingBlockError` if a recorded block is not in ``registry``; warn once
    per block whose distribution or version differs from the recorded one.

    Args:
        records: what :func:`record` returned when the run was made (a checkpoint's
            ``state["blocks"]``); anything else (an older checkpoint without it) checks nothing.
        where: the run or checkpoint, for the messages.
    """
    if not isinstance(records, list):
        return
    missing = []
    for r in records:
        if not (isinstance(r, dict) and all(isinstance(r.get(f), str) for f in FIELDS)) or r["kind"] not in KINDS:
            continue
        if r["name"] not in registry.list(r["kind"]):
            missing.append(r)
            continue
        entry = registry.get(r["kind"], r["name"])
        if (entry.distribution, entry.version) != (r["distribution"], r["version"]) and r["distribution"]:
            log.warning(
                "%s: block `%s` was made with %s; here it comes from %s", where, r["name"], _dist(r),
                " ".join(p for p in (entry.distribution, entry.version) if p) or f"plugin {entry.plugin}",
            )
    if missing:
        lines = [f"{where}: this run needs block `{r['name']}` from {_dist(r) or 'an unknown distribution'} ({_why(r, registry)})" for r in missing]
        raise MissingBlockError("\n".join(lines))


def _dist(r: dict[str, str]) -> str:
    return " ".join(part for part in (r["distribution"], r["version"]) if part)


def _why(r: dict[str, str], registry: Registry) -> str:
    """Why the block is missing: its distribution is not installed, or is but did not register it."""
    try:
        installed = importlib.metadata.version(r["distribution"]) if r["distribution"] else None
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed is None:
        reason = "not installed"
    elif registry.autoload_note:
        reason = f"{r['distribution']} {installed} is installed but was not loaded"
    else:
        reason = f"{r['distribution']} {installed} is installed but did not register it; see `ganparts plugins`"
    return f"{reason}; {registry.autoload_note}" if registry.autoload_note else reason
