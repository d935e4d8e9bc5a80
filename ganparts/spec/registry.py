"""The registry of interchangeable blocks: one namespace per kind, three verbs.

An entry is a pair: a pydantic *spec model* whose ``kind`` field is a one-value
``Literal`` (the entry's name) and a *builder* that turns a validated spec, plus
context such as channel counts, into an ``nn.Module`` or a callable.

    registry.register("attention", spec=SaganSpec, builder=build_sagan)
    registry.create("attention", {"kind": "sagan", "resolution": 14}, channels=64)
    registry.list("attention", "sagan*")
"""

from __future__ import annotations

import contextlib
import fnmatch
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from pydantic import BaseModel, PydanticUserError

from ganparts.errors import UserError, first_line, one_line
from ganparts.spec.introspection import kind_tag

KINDS = ("attention", "norm", "loss", "penalty", "augment", "generator", "discriminator", "dataset", "feature")
DIRECT = "(direct)"  # the plugin name of entries registered outside any plugin (e.g. in a test)
# Fields ganparts reads from every spec of a kind, with the base class that provides them.
REQUIRED_FIELDS = {
    "attention": (("resolution",), "ganparts.blocks.attention.AttentionSpec"),
    "augment": (("p",), "ganparts.blocks.augment.AugmentSpec"),
    "generator": (("spectral_norm", "attention"), "ganparts.models.base.NetworkSpec"),
    "discriminator": (("spectral_norm", "attention"), "ganparts.models.base.NetworkSpec"),
}


class RegistryError(UserError, ValueError):
    """An entry is malformed, clashes with another, or does not exist."""


class BlockBuildError(UserError):
    """A block's builder raised something other than ``ValueError``: a bug in that block.

    One line names the block, its plugin and distribution, and the reason; the original
    exception is the ``__cause__`` (the CLI shows its traceback with ``-v``).
    """

    def __init__(self, entry: Entry, spec: BaseModel, error: BaseException) -> None:
        self.entry, self.spec, self.error = entry, spec, error
        super().__init__(f"{entry.kind} {entry.name!r} {entry.origin()} failed to build: {one_line(error)}")


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    spec: type[BaseModel]
    builder: Callable[..., Any]
    plugin: str  # the plugin that registered it
    description: str = ""
    builtin: bool = False  # registered by a plugin that ships with ganparts: the one meaning of "built-in"
    distribution: str = ""  # the installed distribution that provides the plugin ("" when unknown)
    version: str = ""  # that distribution's version

    def origin(self) -> str:
        """``from plugin axial (ganparts-axial 0.1.0)``: where the entry came from, for messages."""
        dist = " ".join(part for part in (self.distribution, self.version) if part)
        return f"from plugin {self.plugin}" + (f" ({dist})" if dist else "")


@dataclass(frozen=True)
class Skipped:
    """A block a plugin registered but that was not kept, because its name was taken.

    The first plugin to register a name keeps it (built-ins load first, then installed
    plugins sorted by distribution name); the later one loses only this block.
    """

    kind: str
    name: str
    plugin: str
    distribution: str
    version: str
    taken_by: Entry
    reason: str

    def describe(self) -> str:
        return f"{self.kind} {self.name!r} was skipped: {self.reason}"


def spec_name(spec: type[BaseModel]) -> str:
    """The name a spec model registers under: the single value of its ``kind`` Literal."""
    if not (isinstance(spec, type) and issubclass(spec, BaseModel)):
        raise RegistryError(f"spec must be a pydantic BaseModel subclass, got {spec!r}")
    name = kind_tag(spec)
    if name is None:
        raise RegistryError(f"{spec.__name__} needs a field `kind: Literal['<name>']` with exactly one value")
    if spec.model_config.get("extra") != "forbid":
        raise RegistryError(f"{spec.__name__} must set model_config = ConfigDict(extra='forbid')")
    return name


def check_spec_contract(kind: str, spec: type[BaseModel]) -> None:
    """Raise :class:`RegistryError` unless ``spec`` has the fields ``kind`` needs and a JSON Schema.

    The JSON Schema is what ``ganparts schema`` and the app's pickers show; a spec without
    one would break them for every block, not only its own.
    """
    fields, base = REQUIRED_FIELDS.get(kind, ((), ""))
    missing = [f for f in fields if f not in spec.model_fields]
    if missing:
        raise RegistryError(f"{spec.__name__} lacks {', '.join(missing)}, which every {kind} spec needs; subclass {base}")
    if kind == "dataset" and not _is_image_shape(getattr(spec, "image_shape", None)):
        # Networks and metrics take the image geometry from the dataset's spec, never from a literal.
        raise RegistryError(f"{spec.__name__} needs image_shape = (channels, height, width); subclass ganparts.data.images.DatasetSpec")
    try:
        spec.model_json_schema()
    except PydanticUserError as err:
        raise RegistryError(f"{spec.__name__} has no JSON Schema ({first_line(err)}); use JSON-representable field types") from None


def _is_image_shape(shape: Any) -> bool:
    return isinstance(shape, tuple) and len(shape) == 3 and all(isinstance(n, int) and n > 0 for n in shape)


class Registry:
    """Registered blocks by kind; see the module docstring."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self._plugin, self._builtin = DIRECT, False
        self._distribution, self._version = "", ""
        self._may_override_builtins = False
        self.skipped: list[Skipped] = []  # blocks plugins registered under a name already taken
        self.revision = 0  # bumped by every change, so models built from the registry know when they are stale
        # Why installed plugins are missing from this registry, if they are (set by ganparts.plugins);
        # messages about a block that is not registered add it.
        self.autoload_note = ""

    def register(
        self,
        kind: str,
        *,
        spec: type[BaseModel],
        builder: Callable[..., Any],
        override: bool = False,
        description: str = "",
    ) -> Entry:
        """Add an entry named after ``spec``'s ``kind`` literal.

        Inside a plugin's hook (:meth:`plugin`), a name another plugin registered first is not
        an error: this block is skipped and recorded in :attr:`skipped` (the plugin's other
        blocks still load), and None is returned. ``override=True`` replaces another installed
        plugin's block; a built-in one only where the user allowed it
        (``GANPARTS_PLUGIN_OVERRIDES``, see docs/plugins.md).

        Raises:
            RegistryError: unknown kind, malformed spec (see :func:`spec_name` and
                :func:`check_spec_contract`), a builder that is not callable, or a name
                already taken outside a plugin or by the same plugin (unless ``override=True``).
        """
        namespace = self._namespace(kind)
        name = spec_name(spec)
        check_spec_contract(kind, spec)
        if not callable(builder):
            raise RegistryError(f"builder for {kind} {name!r} is not callable")
        taken = namespace.get(name)
        if taken is not None and self._plugin not in (DIRECT, taken.plugin):
            reason = self._clash(taken, override)
            if reason:
                self.skipped.append(Skipped(kind, name, self._plugin, self._distribution, self._version, taken, reason))
                return None
        elif taken is not None and not override:
            raise RegistryError(
                f"An entry is already registered under the name {name!r} in kind {kind!r} "
                f"(by plugin {taken.plugin!r}); pass override=True to replace it"
            )
        doc = description or (spec.__doc__ or "").strip().split("\n")[0]
        entry = Entry(kind, name, spec, builder, self._plugin, doc, self._builtin, self._distribution, self._version)
        namespace[name] = entry
        self.revision += 1
        return entry

    def _clash(self, taken: Entry, override: bool) -> str:
        """Why a plugin's block may not take ``taken``'s name ("" when it may replace it)."""
        holder = taken.origin().removeprefix("from ")
        if not override:
            return (
                f"the name is taken by {holder}, which loaded first; "
                "one of the two blocks needs another name (its kind literal), or uninstall one of the plugins"
            )
        if taken.builtin and not self._may_override_builtins:
            return (
                f"the plugin asked to override the built-in {taken.kind} {taken.name!r} ({holder}); built-ins win "
                f"unless the user allows it: GANPARTS_PLUGIN_OVERRIDES={self._plugin}"
            )
        return ""

    def create(self, kind: str, spec: BaseModel | dict, /, **context: Any) -> Any:
        """Build the block ``spec`` describes; ``context`` goes to the builder as keywords."""
        if isinstance(spec, dict):
            entry = self.get(kind, spec.get("kind", ""))
            spec = entry.spec.model_validate(spec)
        else:
            entry = self.get(kind, spec.kind)
        try:
            block = entry.builder(spec, **context)
        except UserError:
            raise  # already worded for the user (a block built inside this one, data that is missing, …)
        except ValueError as err:
            # A combination the spec's types could not rule out (e.g. heads vs channels): a spec
            # error, reported at this block's place in the spec by whoever knows the spec
            # (preflight). The innermost block that raised is the one to point at.
            if getattr(err, "ganparts_block", None) is None:
                with contextlib.suppress(AttributeError, TypeError):
                    err.ganparts_block = (entry, spec)
            raise
        except Exception as err:  # noqa: BLE001 — a plugin's bug becomes one line naming it
            raise BlockBuildError(entry, spec, err) from err
        with contextlib.suppress(AttributeError, TypeError):
            block.ganparts_entry = entry  # lets summaries say which plugin a layer came from
        return block

    def list(self, kind: str, pattern: str = "*") -> list[str]:
        """Sorted names of ``kind`` matching a shell-style ``pattern``."""
        return sorted(fnmatch.filter(self._namespace(kind), pattern))

    def get(self, kind: str, name: str) -> Entry:
        namespace = self._namespace(kind)
        if name not in namespace:
            allowed = ", ".join(repr(n) for n in sorted(namespace)) or "none registered"
            note = f" ({self.autoload_note})" if self.autoload_note else ""
            raise RegistryError(f"unknown {kind} {name!r}; allowed: {allowed}{note}")
        return namespace[name]

    def entries(self, kind: str | None = None) -> list[Entry]:
        kinds = KINDS if kind is None else (kind,)
        return [self._entries[k][n] for k in kinds for n in sorted(self._entries[k])]

    @contextlib.contextmanager
    def plugin(
        self,
        name: str,
        *,
        builtin: bool = False,
        distribution: str = "",
        version: str = "",
        may_override_builtins: bool = False,
    ) -> Iterator[Registry]:
        """Attribute registrations to plugin ``name``; keep none of them if the block raises.

        This is how a plugin is never half-registered: its entries land only once its
        whole ``ganparts_register`` hook has returned. Blocks skipped for a name clash are
        added to :attr:`skipped` then too.

        Args:
            distribution, version: the installed distribution providing the plugin; each
                entry records them (a run remembers where its blocks came from).
            may_override_builtins: the user allowed this plugin to replace built-in blocks.
        """
        staged = Registry()
        staged._entries = {kind: dict(names) for kind, names in self._entries.items()}
        staged._plugin, staged._builtin = name, builtin
        staged._distribution, staged._version = distribution, version
        staged._may_override_builtins = may_override_builtins
        yield staged
        self._entries = staged._entries
        self.skipped.extend(staged.skipped)
        self.revision += 1

    def _namespace(self, kind: str) -> dict[str, Entry]:
        if kind not in self._entries:
            raise RegistryError(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
        return self._entries[kind]
