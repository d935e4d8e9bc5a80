"""Specs that ganparts wrote itself (a run's ``spec.yaml``, a checkpoint's copy of it).

ganparts records every field of a spec, defaults included. A field added since a record was
written is therefore missing from it, and the record must read as what was built back then.
That is not always the field's default: a spec class lists the values that reproduce the
older build in ``recorded_defaults`` (a ``ClassVar`` dict, field name → value). Such a value
is used only where the record does not set the field; a new spec file still gets the
field's current default.
"""

from __future__ import annotations

from pydantic import BaseModel


def with_recorded_defaults(spec: BaseModel) -> BaseModel:
    """``spec``, with each field it does not set and whose class names a ``recorded_defaults`` value set to that value, at any depth."""
    updates = {}
    for name in type(spec).model_fields:
        value = getattr(spec, name)
        if isinstance(value, BaseModel):
            updated = with_recorded_defaults(value)
        elif isinstance(value, list):
            updated = [with_recorded_defaults(v) if isinstance(v, BaseModel) else v for v in value]
            updated = value if all(a is b for a, b in zip(updated, value)) else updated
        else:
            continue
        if updated is not value:
            updates[name] = updated
    for name, value in getattr(type(spec), "recorded_defaults", {}).items():
        if name not in spec.model_fields_set:
            updates[name] = value
    return spec.model_copy(update=updates) if updates else spec
