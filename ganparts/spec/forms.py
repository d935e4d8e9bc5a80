"""Spec models described as form fields, so a UI can offer every option — plugin blocks included.

A form is read off the *static* spec models (:class:`ganparts.spec.experiment.Experiment` and each
registered block's spec), whose block fields still carry their registry kind. Nothing
here knows about any particular block: a plugin's block, with its own fields and bounds,
gets its widgets the moment it is registered.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ganparts.spec.introspection import annotation_metadata, block_ref, is_model, strip_annotated
from ganparts.spec.registry import Registry

# Widgets, by what a field holds:
#   toggle      bool                 integer / number   int / float, with inclusive bounds
#   text        str                  optional_text      str | None, float | None (empty means None)
#   choice      one of ``choices``   number_pair        a 2-tuple of floats (Adam's betas)
#               (a Literal's values; None, True, False for bool | None)
#   block       one registered block of ``block_kind``, then that block's own fields
#   block_list  any number of them   section            a nested model (``model`` holds it)
Widget = Literal["toggle", "integer", "number", "text", "optional_text", "choice", "number_pair", "block", "block_list", "section"]
ACRONYMS = {"ema", "lr", "gp", "g", "d", "id"}
_ORDER = {"block_list": 2, "section": 1, "block": 1}  # scalars first, nested parts after, lists last


@dataclass(frozen=True)
class FormField:
    """One field of a spec model, as a form shows it."""

    name: str
    widget: Widget
    default: Any  # plain data (None when the field is required and has no default)
    description: str = ""
    low: float | None = None  # inclusive bounds a number widget can enforce; exclusive
    high: float | None = None  # bounds (gt/lt) are left to validation to report
    choices: tuple[Any, ...] = ()
    block_kind: str | None = None
    model: type[BaseModel] | None = None

    @property
    def label(self) -> str:
        """``g_lr`` → "G LR", ``ema_decay`` → "EMA decay", ``z_dim`` → "Z dim"."""
        words = [w.upper() if w in ACRONYMS else w for w in self.name.split("_")]
        return " ".join(words)[:1].upper() + " ".join(words)[1:]


def describe_fields(model: type[BaseModel], *, choices: dict[str, tuple[Any, ...]] | None = None) -> list[FormField]:
    """The fields of ``model`` a user sets (not ``kind``), scalars first.

    Args:
        model: a static spec model (block fields still marked with their registry kind).
        choices: allowed values for fields by name, overriding what the type allows,
            e.g. ``{"resolution": (7, 14, 28)}`` for an attention block inside a family.
    """
    fields = [_describe(name, info, (choices or {}).get(name)) for name, info in model.model_fields.items() if name != "kind"]
    return sorted(fields, key=lambda f: _ORDER.get(f.widget, 0))


def block_defaults(registry: Registry, kind: str, name: str, *, choices: dict[str, tuple[Any, ...]] | None = None) -> dict[str, Any]:
    """Plain data of a new block ``name`` with every default filled in; a required field
    with ``choices`` gets the middle one (an attention block lands mid-network)."""
    spec = registry.get(kind, name).spec
    data: dict[str, Any] = {"kind": name}
    for field in describe_fields(spec, choices=choices):
        if field.default is not None:
            data[field.name] = field.default
        elif field.choices:
            data[field.name] = field.choices[len(field.choices) // 2]
    return data


def network_resolutions(registry: Registry, kind: str, name: str) -> tuple[int, ...]:
    """Feature-map sizes a family (``generator``/``discriminator`` ``name``) accepts attention at."""
    return tuple(getattr(registry.get(kind, name).spec, "resolutions", ()))


def _describe(name: str, info: FieldInfo, choices: tuple[Any, ...] | None) -> FormField:
    annotation, metadata = info.annotation, list(info.metadata)
    ref = block_ref(annotation, metadata)
    default = _default(info)
    common = {"name": name, "default": default, "description": info.description or ""}
    if choices:
        return FormField(widget="choice", choices=tuple(choices), **common)
    if ref is not None:
        return FormField(widget="choice" if ref.name_only else "block", block_kind=ref.kind, **common)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args and block_ref(args[0]):
        return FormField(widget="block_list", block_kind=block_ref(args[0]).kind, **common)
    if origin is Literal:
        return FormField(widget="choice", choices=args, **common)
    if origin is tuple and len(args) == 2 and all(strip_annotated(a) is float for a in args):
        low, high = _bounds(annotation_metadata(args[0]), float)
        return FormField(widget="number_pair", low=low, high=high, **common)
    if annotation is bool:
        return FormField(widget="toggle", **common)
    if set(args) == {bool, type(None)}:  # a switch whose null means "the family decides"
        return FormField(widget="choice", choices=(None, True, False), **common)
    if annotation in (int, float):
        low, high = _bounds(metadata, annotation)
        return FormField(widget="integer" if annotation is int else "number", low=low, high=high, **common)
    if is_model(annotation):
        return FormField(widget="section", model=annotation, **common)
    if set(args) in ({str, type(None)}, {float, type(None)}):  # a number whose null means "the family decides"
        return FormField(widget="optional_text", **common)
    return FormField(widget="text", **common)


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        value = info.default_factory()
    elif info.is_required():
        return None
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple):
        return list(value)
    return value


def _bounds(metadata: list[Any], number: type) -> tuple[float | None, float | None]:
    low = high = None
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Gt):
            low = m.gt + 1 if number is int else m.gt
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.Lt):
            high = m.lt - 1 if number is int else m.lt
    return (None if low is None else number(low)), (None if high is None else number(high))
