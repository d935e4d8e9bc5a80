"""Problem lines for a spec that fails validation: user-facing field paths and messages.

pydantic's error locations carry the union tags of resolved block fields
(``model.generator.dcgan.width``) and its messages name types, not choices; a user wants
the path they wrote and the values they may write instead.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ganparts.spec.introspection import is_model, kind_tag, type_at, union_members

MAX_PROBLEMS = 12  # past this many, the rest of a report is noise: show the first ones and a count
MAX_SHOWN_CHARS = 60  # a bad value or key is quoted up to this length


def describe_error(error: dict[str, Any], data: Any, model: type[BaseModel]) -> tuple[str, str]:
    """``(user-facing field path, message)`` for one pydantic error."""
    path = user_path(error["loc"], data)
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "union_tag_invalid":
        return join_path(path, "kind"), f"{shorten(repr(ctx['tag']))} is not one of {ctx['expected_tags']}"
    if kind == "union_tag_not_found":
        allowed = _allowed_kinds(error["loc"], model)
        return join_path(path, "kind"), "missing; every block needs a kind" + (f", one of {allowed}" if allowed else "")
    if kind == "literal_error":
        return path, f"{shorten(repr(value))} is not one of {ctx['expected']}"
    if kind == "extra_forbidden":
        fields = _allowed_fields(error["loc"][:-1], model)
        return path, "unknown field" + (f"; allowed fields: {', '.join(fields)}" if fields else "")
    if kind == "missing":
        return path, "required field is missing"
    shown = f" (got {shorten(repr(value))})" if not isinstance(value, (dict, list)) else ""
    message = error["msg"].removeprefix("Value error, ")
    return path, message + shown


def at_most(problems: list[tuple[str, str]], limit: int = MAX_PROBLEMS) -> list[tuple[str, str]]:
    """The first ``limit`` problems, and a line counting the rest."""
    if len(problems) <= limit:
        return problems
    return problems[:limit] + [("", f"… and {len(problems) - limit} more problems")]


def shorten(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def user_path(loc: tuple, data: Any) -> str:
    """Drop the union tags pydantic inserts into ``loc`` (``generator.dcgan.width`` → ``generator.width``)."""
    parts, node = [], data
    for item in loc:
        if isinstance(node, dict) and item not in node and item == node.get("kind"):
            continue  # a discriminated-union tag, not a key the user wrote
        parts.append(shorten(str(item)))
        if isinstance(node, dict):
            node = node.get(item)
        elif isinstance(node, list) and isinstance(item, int) and item < len(node):
            node = node[item]
        else:
            node = None
    return ".".join(parts)


def _allowed_fields(loc: tuple, model: type[BaseModel]) -> list[str]:
    node = type_at(loc, model)
    return list(node.model_fields) if is_model(node) else []


def _allowed_kinds(loc: tuple, model: type[BaseModel]) -> str:
    return ", ".join(repr(kind_tag(m)) for m in union_members(type_at(loc, model)))
