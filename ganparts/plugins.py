"""The plugin manager: built-ins go through the same hook as third parties."""

from __future__ import annotations

import functools
import importlib

import pluggy

from ganparts import hookspecs
from ganparts.registry import Registry

# Each built-in module implements ``ganparts_register``; like datasette's
# DEFAULT_PLUGINS, the core takes the door every plugin takes.
BUILTIN_PLUGINS = (
    "ganparts.blocks.attention",
    "ganparts.blocks.norm",
    "ganparts.losses",
    "ganparts.models.dcgan",
    "ganparts.data",
)


def get_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager holding ganparts' hook specs and its built-in plugins."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for module_name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    pm.check_pending()
    return pm


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Call every plugin's ``ganparts_register`` on its own, so each entry knows its plugin."""
    registry = Registry()
    # pluggy calls the last registered first; reverse so built-ins register before plugins.
    for impl in reversed(pm.hook.ganparts_register.get_hookimpls()):
        with registry.plugin(impl.plugin_name) as staged:
            impl.function(registry=staged)
    return registry


@functools.cache
def default_registry() -> Registry:
    """The process-wide registry, built once from :func:`get_plugin_manager`."""
    return build_registry(get_plugin_manager())
