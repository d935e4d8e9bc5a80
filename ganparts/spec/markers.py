"""Markers that let a spec model refer to "any registered block of kind K"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel


@dataclass(frozen=True)
class BlockRef:
    """Annotation metadata: this field holds a spec of registry kind ``kind``.

    ``ganparts.spec.experiment.build_spec_model`` replaces the field's type with the
    discriminated union (on ``kind``) of every spec registered under that kind,
    or, with ``name_only``, with a ``Literal`` of the registered names.
    """

    kind: str
    name_only: bool = False


def Block(kind: str) -> Any:
    """Type of a field holding one block spec of ``kind`` (any registered one)."""
    return Annotated[BaseModel, BlockRef(kind)]


def BlockName(kind: str) -> Any:
    """Type of a field holding the name of a registered block of ``kind``."""
    return Annotated[str, BlockRef(kind, name_only=True)]
