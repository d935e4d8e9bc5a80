"""Widgets for an experiment spec, made from the spec models (see ganparts.spec.forms).

Every widget's key is ``spec:`` plus its field path, with the chosen block kind in
brackets (``spec:model.generator[dcgan].width``) so switching a block's kind starts
its fields afresh. Below each widget sits an empty slot; after validation,
:meth:`SpecForm.show_errors` writes each problem into the slot of its field.
"""

from __future__ import annotations

import math
import re
from typing import Any

import streamlit as st
from pydantic import BaseModel

from ganparts.spec.forms import FormField, block_defaults, describe_fields
from ganparts.spec.registry import Registry

PREFIX = "spec"
GENERATION = "build.form_generation"  # session key: bumped to start every widget afresh
JS_SAFE_INT = 2**53 - 1  # number widgets live in the browser's float64


def reset_form() -> None:
    """Start every widget afresh from the form's base data.

    Deleting a widget's state is not enough: the browser keeps showing (and sends back)
    what it held. New keys make new widgets, so the generation is part of every key.
    """
    for key in [k for k in st.session_state if isinstance(k, str) and re.match(rf"{PREFIX}\d+:", k)]:
        del st.session_state[key]
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1


class SpecForm:
    """Renders fields of spec models from ``base`` data and collects what the widgets hold.

    Widget keys are ``spec<generation>:<path>``, e.g. ``spec0:model.generator[dcgan].width``.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.prefix = f"{PREFIX}{st.session_state.get(GENERATION, 0)}:"
        self.slots: dict[str, Any] = {}

    def fields(self, model: type[BaseModel], data: dict, path: str, *, key: str | None = None,
               only: tuple[str, ...] = (), choices: dict | None = None, child_choices: dict | None = None) -> dict[str, Any]:
        """Widgets for ``model``'s fields (``only`` those, if given) at data path ``path``."""
        key = path if key is None else key
        values = {}
        for field in describe_fields(model, choices=choices):
            if only and field.name not in only:
                continue
            value = data.get(field.name, field.default) if isinstance(data, dict) else field.default
            values[field.name] = self.field(field, value, _join(path, field.name), _join(key, field.name), child_choices)
        return values

    def field(self, field: FormField, value: Any, path: str, key: str, child_choices: dict | None = None) -> Any:
        common = {"key": self.prefix + key, "help": field.description or None}
        match field.widget:
            case "toggle":
                result = st.toggle(field.label, value=bool(value), **common)
            case "integer":
                low, high = (None if b is None else max(-JS_SAFE_INT, min(JS_SAFE_INT, int(b))) for b in (field.low, field.high))
                result = st.number_input(field.label, value=int(value), min_value=low, max_value=high, step=1, **common)
            case "number":
                result = st.number_input(field.label, value=float(value), min_value=field.low, max_value=field.high,
                                         step=_step(field.default), format="%g", **common)
            case "number_pair":
                left, right = st.columns(2)
                result = [
                    column.number_input(f"{field.label} {i + 1}", value=float(v), min_value=field.low, max_value=field.high,
                                        step=0.01, format="%g", key=f"{self.prefix}{key}.{i}", help=field.description or None)
                    for i, (column, v) in enumerate(zip((left, right), value))
                ]
            case "text":
                result = st.text_input(field.label, value=str(value or ""), **common)
            case "optional_text":
                result = st.text_input(field.label, value="" if value is None else str(value), placeholder="(default)", **common) or None
            case "choice":
                options = list(field.choices or self.registry.list(field.block_kind))
                result = st.selectbox(field.label, options, index=options.index(value) if value in options else 0, **common)
            case "block":
                return self.block(field.block_kind, value, path, key, label=field.label,
                                  help=field.description, choices=child_choices)
            case "block_list":
                return self.block_list(field, value or [], path, key, child_choices)
            case "section":
                return self.fields(field.model, value or {}, path, key=key)
        self.slot(path)
        return result

    def block(self, kind: str, value: Any, path: str, key: str, *, label: str, help: str = "",
              choices: dict | None = None) -> dict[str, Any]:
        """A picker of every registered ``kind`` (plugins' too), then the chosen block's own fields."""
        names = self.registry.list(kind)
        current = value.get("kind") if isinstance(value, dict) else value
        name = st.selectbox(label, names, index=names.index(current) if current in names else 0, key=f"{self.prefix}{key}.kind",
                            format_func=lambda n: self.describe(kind, n), help=help or None)
        self.slot(path)
        spec = self.registry.get(kind, name).spec
        if not (isinstance(value, dict) and value.get("kind") == name):
            value = block_defaults(self.registry, kind, name, choices=choices)
        # A family's own resolutions are the choices for the attention blocks inside it.
        resolutions = getattr(spec, "resolutions", ())
        inner = {"resolution": tuple(resolutions)} if resolutions else None
        return {"kind": name, **self.fields(spec, value, path, key=f"{key}[{name}]", choices=choices, child_choices=inner)}

    def block_list(self, field: FormField, items: list, path: str, key: str, choices: dict | None) -> list[dict[str, Any]]:
        """Any number of ``field.block_kind`` blocks, each removable, and a button to add one."""
        ids_key = f"{self.prefix}{key}#ids"  # stable ids, so removing one block keeps the others' widgets
        if ids_key not in st.session_state:
            st.session_state[ids_key] = list(range(len(items)))
        ids = st.session_state[ids_key]
        kind, names = field.block_kind, self.registry.list(field.block_kind)
        new = next((n for n in names if self.registry.get(kind, n).builtin), names[0])  # a built-in first
        st.markdown(f"**{field.label}** ({len(ids)} block{'s' * (len(ids) != 1)})", help=field.description or None)
        values = []
        for position, item_id in enumerate(ids):
            base = items[item_id] if item_id < len(items) else block_defaults(self.registry, kind, new, choices=choices)
            with st.container(border=True):
                values.append(self.block(kind, base, f"{path}.{position}", f"{key}#{item_id}", label=f"{kind.capitalize()} block {position + 1}",
                                         choices=choices))
                st.button("Remove", key=f"{self.prefix}{key}#{item_id}.remove", icon=":material/delete:",
                          on_click=ids.remove, args=(item_id,))
        st.button(f"Add {kind} block", key=f"{self.prefix}{key}.add", icon=":material/add:",
                  on_click=lambda: ids.append(max([len(items) - 1, *ids]) + 1))
        self.slot(path)
        return values

    def describe(self, kind: str, name: str) -> str:
        entry = self.registry.get(kind, name)
        origin = "" if entry.builtin else f" [{entry.plugin}]"
        return f"{name}{origin}"

    def slot(self, path: str) -> None:
        self.slots[path] = st.empty()

    def show_errors(self, problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Show each ``(path, message)`` under the widget of the longest matching path;
        return the problems that match no widget."""
        by_slot: dict[str, list[str]] = {}
        unplaced = []
        for path, message in problems:
            matches = [p for p in self.slots if path == p or path.startswith(p + ".")]
            if matches:
                by_slot.setdefault(max(matches, key=len), []).append(f"`{path}`: {message}")
            else:
                unplaced.append((path, message))
        for slot_path, lines in by_slot.items():
            self.slots[slot_path].error("\n\n".join(lines), icon=":material/error:")
        return unplaced


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _step(default: Any) -> float:
    """A step a tenth of the default's order of magnitude (1e-4 → 1e-5, 0.9 → 0.01)."""
    if not default:
        return 0.01
    return 10.0 ** (math.floor(math.log10(abs(float(default)))) - 1)
