"""Spec files: read YAML/JSON, apply ``--set a.b=c`` overrides, validate, write back.

Every failure is a :class:`SpecError` whose lines name the field path and, where
known, the allowed values — what the CLI prints before exiting with status 2.
"""

from __future__ import annotations

import copy
import json
import math
import typing
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ValidationError

from ganparts.errors import SpecError
from ganparts.spec.registry import Registry
from ganparts.spec.safe_yaml import safe_load_yaml
from ganparts.spec.experiment import Experiment, spec_model
from ganparts.spec.checks import check_experiment

MAX_SPEC_BYTES = 1 << 20  # a spec is a few hundred bytes; anything past 1 MiB is a mistake
MAX_PROBLEMS = 12  # past this many, the rest of a report is noise: show the first ones and a count
MAX_SHOWN_CHARS = 60  # a bad value or key is quoted up to this length


def read_spec_data(path: str | Path) -> dict[str, Any]:
    """Parse a YAML or JSON spec file into plain data (not yet validated)."""
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise SpecError([("", f"{where}: no such file")])
    if not path.is_file():
        raise SpecError([("", f"{where}: not a file")])
    _check_size(path.stat().st_size, where)
    return parse_spec_bytes(path.read_bytes(), where=where, json_only=path.suffix.lower() == ".json")


def parse_spec_bytes(data: bytes, *, where: str = "spec", json_only: bool = False) -> dict[str, Any]:
    """Parse the bytes of an uploaded spec file: size-limited, UTF-8, YAML or JSON (not yet validated)."""
    _check_size(len(data), where)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError([("", f"{where}: not UTF-8 text (byte {err.start})")]) from None
    return parse_spec_text(text, where=where, json_only=json_only)


def _check_size(size: int, where: str) -> None:
    if size > MAX_SPEC_BYTES:
        raise SpecError([("", f"{where}: {size:,} bytes; a spec file may be at most {MAX_SPEC_BYTES:,}")])


def parse_spec_text(text: str, *, where: str = "spec", json_only: bool = False) -> dict[str, Any]:
    if not text.strip():
        raise SpecError([("", f"{where}: empty; a spec needs at least a `model` section")])
    try:
        data = json.loads(text) if json_only else safe_load_yaml(text)
    except RecursionError:
        raise SpecError([("", f"{where}: nested too deeply to be a spec")]) from None
    except json.JSONDecodeError as err:
        raise SpecError([("", f"{where}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}")]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise SpecError([("", f"{where}: invalid YAML{at}: {problem}")]) from None
    if data is None:  # only comments, or a bare null
        raise SpecError([("", f"{where}: empty; a spec needs at least a `model` section")])
    if not isinstance(data, dict):
        raise SpecError([("", f"{where}: the top level must be a mapping of sections, got {type(data).__name__}")])
    return data


def apply_overrides(data: dict[str, Any], assignments: Iterable[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` assignments (values parsed as YAML) to a copy of ``data``."""
    data = copy.deepcopy(data)
    for assignment in assignments:
        path, sep, raw = assignment.partition("=")
        if not sep or not path.strip():
            raise SpecError([("", f"--set {assignment!r}: expected KEY.PATH=VALUE, e.g. train.steps=200")])
        try:
            value = safe_load_yaml(raw)
        except (yaml.YAMLError, RecursionError) as err:
            raise SpecError([(path, f"--set value {raw!r} is not valid YAML ({getattr(err, 'problem', err)})")]) from None
        keys = path.strip().split(".")
        node: Any = data
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise SpecError([(".".join(keys[: depth + 1]), f"no item {key} in a list of {len(node)}")])
                key = int(key)
            elif not isinstance(node, dict):
                raise SpecError([(".".join(keys[:depth]), "is not a mapping, so it has no fields to set")])
            if last:
                node[key] = value
            else:
                if isinstance(node, dict) and not isinstance(node.get(key), (dict, list)):
                    node[key] = {}
                node = node[key]
    return data


def validate_spec(data: dict[str, Any], registry: Registry | None = None) -> Experiment:
    """Validate plain data against the registry's spec model, raising :class:`SpecError`.

    Beyond the fields' own types: every number must be finite, and the checks across
    fields in :mod:`ganparts.spec.checks` must hold.
    """
    model = spec_model(registry)
    problems = _non_finite_numbers(data)
    if not problems:
        try:
            spec = model.model_validate(data)
        except ValidationError as err:
            problems = [describe_error(e, data, model) for e in err.errors()]
        except RecursionError:
            problems = [("", "nested too deeply to be a spec")]
        else:
            problems = check_experiment(spec)
    if problems:
        raise SpecError(_at_most(problems, MAX_PROBLEMS))
    return spec


def _non_finite_numbers(data: Any) -> list[tuple[str, str]]:
    """``.nan`` and ``.inf`` pass ``gt=0``-style bounds, but no spec field means them."""
    problems, stack = [], [("", data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            problems.append((path, f"{node} is not a finite number"))
        elif isinstance(node, dict):
            stack.extend((_join(path, _short(str(k))), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((_join(path, str(i)), v) for i, v in enumerate(node))
    return sorted(problems)


def _at_most(problems: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    if len(problems) <= limit:
        return problems
    return problems[:limit] + [("", f"… and {len(problems) - limit} more problems")]


def _short(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_spec(source: str | Path | dict[str, Any], overrides: Iterable[str] = (), registry: Registry | None = None) -> Experiment:
    """Read (from a path or plain data), override and validate a spec."""
    data = source if isinstance(source, dict) else read_spec_data(source)
    return validate_spec(apply_overrides(data, overrides), registry)


def spec_to_data(spec: BaseModel) -> dict[str, Any]:
    """Plain JSON-able data of ``spec``, with each block's ``kind`` first so files read well."""
    return _kind_first(spec.model_dump(mode="json"))


def _kind_first(data: Any) -> Any:
    if isinstance(data, dict):
        ordered = {"kind": data["kind"]} if "kind" in data else {}
        return ordered | {k: _kind_first(v) for k, v in data.items() if k != "kind"}
    if isinstance(data, list):
        return [_kind_first(v) for v in data]
    return data


def dump_spec(spec: BaseModel) -> str:
    """YAML text of ``spec``; writing it is the caller's (``RunDir.write_spec``), as spec/ does no file writes."""
    return yaml.safe_dump(spec_to_data(spec), sort_keys=False)


# --- error messages ---------------------------------------------------------------


def describe_error(error: dict[str, Any], data: Any, model: type[BaseModel]) -> tuple[str, str]:
    """``(user-facing field path, message)`` for one pydantic error."""
    path = _user_path(error["loc"], data)
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "union_tag_invalid":
        return _join(path, "kind"), f"{_short(repr(ctx['tag']))} is not one of {ctx['expected_tags']}"
    if kind == "union_tag_not_found":
        allowed = _allowed_kinds(error["loc"], model)
        return _join(path, "kind"), "missing; every block needs a kind" + (f", one of {allowed}" if allowed else "")
    if kind == "literal_error":
        return path, f"{_short(repr(value))} is not one of {ctx['expected']}"
    if kind == "extra_forbidden":
        fields = _allowed_fields(error["loc"][:-1], model)
        return path, "unknown field" + (f"; allowed fields: {', '.join(fields)}" if fields else "")
    if kind == "missing":
        return path, "required field is missing"
    shown = f" (got {_short(repr(value))})" if not isinstance(value, (dict, list)) else ""
    message = error["msg"].removeprefix("Value error, ")
    return path, message + shown


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _user_path(loc: tuple, data: Any) -> str:
    """Drop the union tags pydantic inserts into ``loc`` (``generator.dcgan.width`` → ``generator.width``)."""
    parts, node = [], data
    for item in loc:
        if isinstance(node, dict) and item not in node and item == node.get("kind"):
            continue  # a discriminated-union tag, not a key the user wrote
        parts.append(_short(str(item)))
        if isinstance(node, dict):
            node = node.get(item)
        elif isinstance(node, list) and isinstance(item, int) and item < len(node):
            node = node[item]
        else:
            node = None
    return ".".join(parts)


def _walk(loc: tuple, model: type[BaseModel]) -> Any:
    """The type at ``loc`` (pydantic's, tags included) inside ``model``, or None."""
    node: Any = model
    for item in loc:
        node = _strip(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(item) if isinstance(item, str) else None
            if field is None:
                return None
            node = field.annotation
        elif typing.get_origin(node) in (list, tuple) and isinstance(item, int):
            args = typing.get_args(node)
            node = args[0] if typing.get_origin(node) is list else args[min(item, len(args) - 1)]
        elif typing.get_origin(node) is typing.Union:
            node = next((m for m in typing.get_args(node) if _tag(m) == item), None)
        else:
            return None
    return _strip(node)


def _strip(node: Any) -> Any:
    while typing.get_origin(node) is typing.Annotated:
        node = typing.get_args(node)[0]
    return node


def _tag(member: Any) -> str | None:
    field = getattr(member, "model_fields", {}).get("kind")
    return typing.get_args(field.annotation)[0] if field is not None else None


def _allowed_fields(loc: tuple, model: type[BaseModel]) -> list[str]:
    node = _walk(loc, model)
    return list(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []


def _allowed_kinds(loc: tuple, model: type[BaseModel]) -> str:
    node = _walk(loc, model)
    if typing.get_origin(node) is typing.Union:
        return ", ".join(repr(_tag(m)) for m in typing.get_args(node))
    return ""
