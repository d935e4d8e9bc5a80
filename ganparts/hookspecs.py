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

    :param registry: the :class:`ganparts.registry.Registry` to add entries to, with
        ``registry.register(kind, spec=SpecModel, builder=callable)``. Each spec model
        is a pydantic model with ``kind: Literal["<name>"]`` and ``extra="forbid"``.
    :return: nothing. If the hook raises, none of its registrations are kept and the
        plugin is reported as failed.
    """
