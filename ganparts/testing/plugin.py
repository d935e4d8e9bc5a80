"""Every contract check of every block one installed plugin registers: ``ganparts plugins --check``."""

from __future__ import annotations

from typing import Callable

from ganparts.errors import UserError, one_line
from ganparts.plugins import Plugins, load_plugins
from ganparts.spec.registry import Registry
from ganparts.testing.attention import check_attention_block
from ganparts.testing.augment import check_augment
from ganparts.testing.build import BlockLike, block_data
from ganparts.testing.losses import check_loss, check_penalty
from ganparts.testing.networks import check_family, check_norm
from ganparts.testing.results import CheckResult
from ganparts.testing.training import train_tiny

CHECKERS: dict[str, Callable[..., list[CheckResult]]] = {
    "attention": check_attention_block,
    "norm": check_norm,
    "loss": check_loss,
    "penalty": check_penalty,
    "augment": check_augment,
    "generator": check_family,
    "discriminator": check_family,
}
TRAIN_STEPS = 2


def check_block(kind: str, block: BlockLike, *, registry: Registry | None = None, raise_on_failure: bool = True) -> list[CheckResult]:
    """The checker of ``kind`` run on ``block``; kinds without one (dataset, feature) give one ``skip``."""
    checker = CHECKERS.get(kind)
    if checker is None:
        name = block_data(block).get("kind", "")
        return [CheckResult(f"{kind}:{name}", "contract", "skip", f"ganparts.testing has no checker for {kind} blocks")]
    return checker(block, registry=registry, raise_on_failure=raise_on_failure)


def check_plugin(name: str, *, plugins: Plugins | None = None, train: bool = True) -> list[CheckResult]:
    """Every check of every block plugin ``name`` (its entry-point name or its distribution)
    registers, plus a short training run of each through the real Trainer (``train``).

    A plugin that failed to load gives one failed ``loads`` row; a block skipped for a name
    clash gives a failed ``loads`` row naming the plugin that holds the name.

    Raises:
        UserError: no loaded or failed plugin has that name.
    """
    plugins = plugins or load_plugins()
    reports = [r for r in plugins.reports if name in (r.name, r.distribution)]
    if not reports:
        known = ", ".join(sorted({r.name for r in plugins.reports if not r.builtin})) or "none"
        note = f" ({plugins.registry.autoload_note})" if plugins.registry.autoload_note else ""
        raise UserError(f"no plugin named {name!r}; installed plugins: {known}{note}")
    registry = plugins.registry
    results: list[CheckResult] = []
    for report in reports:
        if report.failed:
            results.append(CheckResult(f"plugin {report.name}", "loads", "fail", report.reason))
            continue
        for skipped in (s for s in registry.skipped if s.plugin == report.name):
            results.append(CheckResult(f"{skipped.kind}:{skipped.name}", "loads", "fail", skipped.reason))
        checked: set[tuple[str, str]] = set()
        for entry in (e for e in registry.entries() if e.plugin == report.name):
            kind = "family" if entry.kind in ("generator", "discriminator") else entry.kind
            if (kind, entry.name) in checked:  # a family registers G and D under one name: checked together
                continue
            checked.add((kind, entry.name))
            results.extend(check_block(entry.kind, entry.name, registry=registry, raise_on_failure=False))
            if train and entry.kind in CHECKERS:
                results.append(_trains(entry.kind, entry.name, registry))
    return results


def _trains(kind: str, name: str, registry: Registry) -> CheckResult:
    check = f"trains {TRAIN_STEPS} steps through the Trainer"
    try:
        train_tiny(kind, name, steps=TRAIN_STEPS, registry=registry)
    except AssertionError as err:
        return CheckResult(f"{kind}:{name}", check, "fail", str(err) or "assertion failed")
    except Exception as err:  # noqa: BLE001 — any failure is this check's result
        return CheckResult(f"{kind}:{name}", check, "fail", one_line(err))
    return CheckResult(f"{kind}:{name}", check, "pass")
