"""pluggy hook specifications of ganparts (prefix ``ganparts_``).

Built-ins and third-party plugins implement the same hooks: a plugin module
defines functions named like the specs below, decorated with :data:`hookimpl`.
Hooks are always called with keyword arguments.
"""

import pluggy

PROJECT = "ganparts"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ganparts_register(registry):
    """Register blocks into the registry.

    :param registry: the :class:`ganparts.spec.registry.Registry` to add entries to, with
        ``registry.register(kind, spec=SpecModel, builder=callable)``. Each spec model
        is a pydantic model with ``kind: Literal["<name>"]`` and ``extra="forbid"``. It
        already holds the built-ins and the plugins loaded before this one.
    :return: nothing. If the hook raises (an invalid entry, anything), none of its
        registrations are kept and the plugin is unregistered and reported as failed;
        ganparts carries on. A name an earlier plugin took is not an error: that block alone
        is skipped and reported (``register`` returns None for it). See docs/plugins.md.
    """
