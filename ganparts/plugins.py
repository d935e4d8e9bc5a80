"""The plugin manager: built-ins and installed packages go through the same hook.

A package becomes a plugin by declaring an entry point in the ``ganparts`` group
(``[project.entry-points.ganparts] name = "module"``). Every plugin is imported,
checked and asked to register on its own: one that fails to import, misspells a hook,
raises in its hook or registers an invalid entry is skipped and reported, and ganparts
and every other plugin keep working. Nothing is half-registered.

    plugin_reports()     # what `ganparts plugins` and the app show, one report per plugin
    default_registry()   # the process-wide registry, built once
    reset()              # forget both, so the next call loads plugins again

Load order, which decides name clashes: the built-ins (``BUILTIN_PLUGINS``, in order), then
installed plugins sorted by distribution name and entry-point name. A block whose name an
earlier plugin took is skipped and reported (the plugin's other blocks load); a plugin's
``override=True`` replaces another installed plugin's block, and a built-in one only for
plugins the user lists in ``GANPARTS_PLUGIN_OVERRIDES``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import logging
import os
import threading
import traceback
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Literal

import pluggy

from ganparts import hookspecs
from ganparts.errors import one_line
from ganparts.spec.registry import Registry

log = logging.getLogger("ganparts")

ENTRY_POINT_GROUP = "ganparts"
DISABLE_AUTOLOAD_ENV = "GANPARTS_DISABLE_PLUGIN_AUTOLOAD"
OVERRIDES_ENV = "GANPARTS_PLUGIN_OVERRIDES"  # comma-separated plugin names the user lets replace built-ins
DISTRIBUTION = "ganparts"

# Each built-in module implements ``ganparts_register``; like datasette's
# DEFAULT_PLUGINS, the core takes the door every plugin takes.
BUILTIN_PLUGINS = (
    "ganparts.blocks.attention",
    "ganparts.blocks.norm",
    "ganparts.blocks.losses",
    "ganparts.blocks.augment",
    "ganparts.models.dcgan",
    "ganparts.models.resnet",
    "ganparts.data.sources",
    "ganparts.metrics.features",
)


@dataclass(frozen=True)
class PluginReport:
    """One plugin as ``ganparts plugins`` and the app show it.

    Attributes:
        name: the plugin's name: its entry-point name, or the module of a built-in.
        distribution: the installed distribution (package) that provides it.
        version: that distribution's version.
        status: ``"loaded"``, or ``"failed"`` when it was skipped.
        reason: why it failed, in one line (empty when loaded).
        blocks: the names it registered, by kind (only kinds it registered into).
        builtin: whether it ships with ganparts.
        details: the traceback of the failure, for the plugin's author.
        skipped: blocks it registered that were not kept because an earlier plugin had
            taken the name, one line each (``attention 'axial' was skipped: …``).
    """

    name: str
    distribution: str
    version: str
    status: Literal["loaded", "failed"] = "loaded"
    reason: str = ""
    blocks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    builtin: bool = False
    details: str = ""
    skipped: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (``ganparts plugins --json``)."""
        data = asdict(self)
        data["blocks"] = {kind: list(names) for kind, names in self.blocks.items()}
        data["skipped"] = list(self.skipped)
        return data


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, plus a :class:`PluginReport` per plugin it was asked to load."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.reports: dict[str, PluginReport] = {}

    def load(self, name: str, importer: Callable[[], object], *, distribution: str, version: str, builtin: bool = False) -> bool:
        """Import one plugin with ``importer``, register it and check its hooks.

        Returns whether it loaded; on any error it is left unregistered and reported.
        """
        if name in self.reports:
            taken = self.reports[name]
            report = PluginReport(name, distribution, version, builtin=builtin)
            self.reports[f"{name} ({distribution})"] = _failed(
                report, f"the plugin name {name!r} is taken by {taken.distribution}; rename this entry point"
            )
            return False
        self.reports[name] = PluginReport(name, distribution, version, builtin=builtin)
        try:
            plugin = importer()
        except Exception as err:  # noqa: BLE001 — whatever a plugin's import raises, skip that plugin only
            return self.fail(name, f"import failed: {one_line(err)}", err)
        try:
            self.register(plugin, name=name)
        except Exception as err:  # noqa: BLE001 — e.g. a hook whose arguments the spec does not offer
            return self.fail(name, one_line(err), err)
        if not self.get_hookcallers(plugin):
            self.unregister(plugin)
            return self.fail(name, "implements no ganparts hook; decorate ganparts_register with @ganparts.hookspecs.hookimpl")
        try:
            self.check_pending()  # a misspelled hook name is an error its author should see
        except pluggy.PluginValidationError as err:
            self.unregister(plugin)
            return self.fail(name, one_line(err), err)
        return True

    def fail(self, name: str, reason: str, err: BaseException | None = None) -> bool:
        """Mark plugin ``name`` failed (it must already be unregistered); returns False."""
        self.reports[name] = _failed(self.reports[name], reason, err)
        return False


def autoload_enabled() -> bool:
    """False when ``GANPARTS_DISABLE_PLUGIN_AUTOLOAD`` is set (to anything but 0/false/no)."""
    return os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() in ("", "0", "false", "no")


def get_plugin_manager(*, autoload: bool | None = None) -> PluginManager:
    """A plugin manager holding ganparts' hook specs, its built-ins and the installed plugins.

    Args:
        autoload: load the ``ganparts`` entry-point group; default: unless
            ``GANPARTS_DISABLE_PLUGIN_AUTOLOAD`` is set.
    """
    pm = PluginManager()
    version = _version(DISTRIBUTION)
    for module_name in BUILTIN_PLUGINS:
        pm.load(module_name, functools.partial(importlib.import_module, module_name), distribution=DISTRIBUTION, version=version, builtin=True)
    if autoload_enabled() if autoload is None else autoload:
        # One by one, unlike pluggy's load_setuptools_entrypoints, which stops at the first error.
        for ep in _entry_points():
            dist = ep.dist
            pm.load(ep.name, ep.load, distribution=dist.name if dist else "?", version=dist.version if dist else "?")
    return pm


def build_registry(pm: PluginManager) -> Registry:
    """Call each plugin's ``ganparts_register`` on its own, in load order (built-ins first).

    Each call goes through pluggy (``subset_hook_caller`` with every other plugin left out), so
    pluggy checks the arguments and runs any hook wrappers, while one plugin's failure stays its
    own. Each plugin's registrations are staged and kept only if its hook returns, so every
    entry knows its plugin, and a plugin that raises (an invalid entry, a clashing name) is
    unregistered, reported, and leaves nothing behind.
    """
    registry = Registry()
    hooked = {impl.plugin_name for impl in pm.hook.ganparts_register.get_hookimpls()}
    plugins = dict(pm.list_name_plugin())
    allowed = override_consent()
    for name in [n for n in plugins if n in hooked]:
        others = [plugin for other, plugin in plugins.items() if other != name]
        register = pm.subset_hook_caller("ganparts_register", remove_plugins=others)
        report = pm.reports[name]
        try:
            with registry.plugin(
                name, builtin=report.builtin, distribution=report.distribution, version=report.version,
                may_override_builtins=name in allowed or "*" in allowed,
            ) as staged:
                register(registry=staged)
        except Exception as err:  # noqa: BLE001 — a broken plugin must not take ganparts down
            pm.unregister(name=name)
            pm.fail(name, f"ganparts_register failed: {one_line(err)}", err)
            continue
        blocks: dict[str, tuple[str, ...]] = {}
        for entry in registry.entries():
            if entry.plugin == name:
                blocks[entry.kind] = (*blocks.get(entry.kind, ()), entry.name)
        skipped = tuple(s.describe() for s in registry.skipped if s.plugin == name)
        pm.reports[name] = replace(pm.reports[name], blocks=blocks, skipped=skipped)
    return registry


def override_consent() -> set[str]:
    """Plugins the user allows to replace built-in blocks (``GANPARTS_PLUGIN_OVERRIDES``; ``*``: all)."""
    return {name.strip() for name in os.environ.get(OVERRIDES_ENV, "").split(",") if name.strip()}


@dataclass(frozen=True)
class Plugins:
    """Loaded plugins: the registry they built, and one report per plugin (load order)."""

    registry: Registry
    reports: tuple[PluginReport, ...]
    autoload: bool


def load_plugins(*, autoload: bool | None = None) -> Plugins:
    """Load built-ins and installed plugins into a new registry; log one warning per failure."""
    autoload = autoload_enabled() if autoload is None else autoload
    pm = get_plugin_manager(autoload=autoload)
    registry = build_registry(pm)
    if not autoload:
        switched_off = not autoload_enabled()
        registry.autoload_note = "plugin autoloading is disabled" + (f": {DISABLE_AUTOLOAD_ENV} is set" if switched_off else "")
    reports = tuple(pm.reports.values())
    for report in reports:
        if report.failed:
            log.warning("plugin %s (%s %s) failed and was skipped: %s", report.name, report.distribution, report.version, report.reason)
        for line in report.skipped:
            log.warning("plugin %s (%s %s): %s", report.name, report.distribution, report.version, line)
    return Plugins(registry, reports, autoload)


_default_lock = threading.RLock()  # the app's sessions run in threads: load once, not once each


@functools.cache
def _load_default() -> Plugins:
    return load_plugins()


def _default() -> Plugins:
    with _default_lock:
        return _load_default()


def default_registry() -> Registry:
    """The process-wide registry, built once from the built-ins and installed plugins."""
    return _default().registry


def plugin_reports() -> list[PluginReport]:
    """A :class:`PluginReport` for every plugin behind :func:`default_registry`, built-ins first."""
    return list(_default().reports)


def reset() -> None:
    """Forget the process-wide registry (and the spec model built from it).

    The next :func:`default_registry` loads plugins again: after installing one, or in
    tests that change ``sys.path`` or ``GANPARTS_DISABLE_PLUGIN_AUTOLOAD``.
    """
    with _default_lock:
        _load_default.cache_clear()


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    # Sorted so that which plugin wins a name clash does not depend on directory order.
    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted(eps, key=lambda ep: (ep.dist.name if ep.dist else "", ep.name))


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _failed(report: PluginReport, reason: str, err: BaseException | None = None) -> PluginReport:
    details = "".join(traceback.format_exception(err)) if err is not None else ""
    return replace(report, status="failed", reason=reason, blocks={}, details=details)
