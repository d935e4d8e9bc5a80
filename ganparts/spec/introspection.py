"""Reading pydantic/typing annotations: the one place spec code looks inside a type.

The experiment resolver, the error messages and the form describer all ask the same
questions of an annotation — what is under its ``Annotated`` wrapper, which
:class:`~ganparts.spec.markers.BlockRef` it carries, which block a model is — and
must agree on the answers.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Iterable, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ganparts.spec.markers import BlockRef


def strip_annotated(annotation: Any) -> Any:
    """``annotation`` without its ``Annotated`` wrappers, however deeply nested."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def annotation_metadata(annotation: Any) -> list[Any]:
    """The ``Annotated`` metadata of ``annotation``, a ``Field(...)``'s constraints unpacked.

    ``Annotated[float, Field(ge=0)]`` gives ``[Ge(ge=0)]``: pydantic keeps a nested
    ``Field``'s bounds in its ``metadata``, where a top-level field keeps them too.
    """
    found: list[Any] = []
    if typing.get_origin(annotation) is Annotated:
        for extra in typing.get_args(annotation)[1:]:
            found.extend(extra.metadata if isinstance(extra, FieldInfo) else [extra])
    return found


def block_ref(annotation: Any, metadata: Iterable[Any] = ()) -> BlockRef | None:
    """The block marker on a field: first in its field ``metadata``, then in ``annotation``'s own.

    A top-level field's ``Annotated`` metadata is moved by pydantic into ``FieldInfo.metadata``;
    an inner one (a list item's) stays on the annotation, so callers pass both.
    """
    found = [*metadata, *annotation_metadata(annotation)]
    return next((m for m in found if isinstance(m, BlockRef)), None)


def is_model(annotation: Any) -> bool:
    """Whether ``annotation`` is a pydantic model class."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def kind_tag(model: Any) -> Any | None:
    """The one value of ``model``'s ``kind: Literal[...]`` field — a block's registered name —
    or None when ``model`` has no such field (no ``kind``, not a Literal, or several values)."""
    field = model.model_fields.get("kind") if is_model(model) else None
    if field is None or typing.get_origin(field.annotation) is not Literal:
        return None
    values = typing.get_args(field.annotation)
    return values[0] if len(values) == 1 else None


def union_members(annotation: Any) -> tuple[Any, ...]:
    """The members of a ``Union`` (a resolved block field), or ``()`` for anything else."""
    return typing.get_args(annotation) if typing.get_origin(annotation) is typing.Union else ()


def type_at(loc: tuple, model: type[BaseModel]) -> Any:
    """The type at a pydantic error location ``loc`` (union tags included) inside ``model``,
    ``Annotated`` stripped, or None where ``loc`` leaves the model's types."""
    node: Any = model
    for item in loc:
        node = strip_annotated(node)
        origin = typing.get_origin(node)
        if is_model(node):
            field = node.model_fields.get(item) if isinstance(item, str) else None
            if field is None:
                return None
            node = field.annotation
        elif origin in (list, tuple) and isinstance(item, int):
            args = typing.get_args(node)
            node = args[0] if origin is list else args[min(item, len(args) - 1)]
        elif origin is typing.Union:
            # pydantic names a discriminated-union member by its tag in ``loc``.
            node = next((m for m in union_members(node) if kind_tag(m) == item), None)
        else:
            return None
    return strip_annotated(node)
