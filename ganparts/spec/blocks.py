"""The blocks a validated experiment uses: where each sits in the spec and which entry it is.

    for use in blocks_used(spec, registry):
        use.path, use.entry.plugin   # "model.generator.attention.0", "ganparts.blocks.attention"

Every nested spec model with a ``kind`` field is a block; a field typed
``BlockName(kind)`` (``data.source``) names one. What kind of block a model is comes from the
registry: the entry whose spec model it is an instance of (resolved spec models subclass the
registered ones), so a field a plugin or a new family adds is found without a list here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from pydantic import BaseModel

from ganparts.spec.introspection import block_ref, kind_tag
from ganparts.spec.messages import join_path
from ganparts.spec.registry import KINDS, Entry, Registry


@dataclass(frozen=True)
class BlockUse:
    """One block of an experiment: ``path`` in the spec (``loss``, ``penalties.1``), its entry,
    and its spec (the model instance; None for a block named by a string, like ``data.source``)."""

    path: str
    entry: Entry
    spec: BaseModel | None

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def name(self) -> str:
        return self.entry.name


def block_specs(node: BaseModel, path: str = "") -> Iterator[tuple[str, BaseModel]]:
    """Every block spec model inside ``node`` (``node`` excluded), outermost first, with its path."""
    for name in type(node).model_fields:
        value = getattr(node, name, None)
        items = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
        for index, item in items:
            if not isinstance(item, BaseModel):
                continue
            where = join_path(path, name if index is None else f"{name}.{index}")
            if kind_tag(type(item)) is not None:
                yield where, item
            yield from block_specs(item, where)


def entry_of(spec: BaseModel, registry: Registry) -> Entry | None:
    """The registry entry ``spec`` (a block spec model instance) was validated as, if any."""
    name = getattr(spec, "kind", None)
    for kind in KINDS:
        if name in registry.list(kind):
            entry = registry.get(kind, name)
            if isinstance(spec, entry.spec):
                return entry
    return None


def blocks_used(experiment: BaseModel, registry: Registry) -> list[BlockUse]:
    """Every registered block ``experiment`` uses, in spec order (named ones like ``data.source`` first)."""
    uses = list(_named_blocks(experiment, "", registry))
    for path, spec in block_specs(experiment):
        entry = entry_of(spec, registry)
        if entry is not None:
            uses.append(BlockUse(path, entry, spec))
    return uses


def path_of(experiment: BaseModel, spec: Any) -> str | None:
    """Where the very object ``spec`` sits inside ``experiment`` (None: not in it)."""
    return next((path for path, found in block_specs(experiment) if found is spec), None)


def _named_blocks(node: BaseModel, path: str, registry: Registry) -> Iterator[BlockUse]:
    for name, field in type(node).model_fields.items():
        value = getattr(node, name, None)
        ref = block_ref(field.annotation, field.metadata)
        where = join_path(path, name)
        if ref is not None and ref.name_only and isinstance(value, str) and value in registry.list(ref.kind):
            yield BlockUse(where, registry.get(ref.kind, value), None)
        elif isinstance(value, BaseModel) and kind_tag(type(value)) is None:
            yield from _named_blocks(value, where, registry)
