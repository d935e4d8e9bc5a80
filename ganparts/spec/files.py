"""Spec files: YAML/JSON text in, plain data out — and a validated spec back to text.

:func:`load_spec` is the whole way in: read, apply ``--set`` overrides
(:mod:`~ganparts.spec.overrides`), validate (:mod:`~ganparts.spec.validation`); every
failure is a :class:`SpecError` naming what is wrong and where.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel

from ganparts.errors import SpecError
from ganparts.spec.experiment import Experiment
from ganparts.spec.overrides import apply_overrides
from ganparts.spec.registry import Registry
from ganparts.spec.safe_yaml import safe_load_yaml
from ganparts.spec.validation import validate_spec

# apply_overrides and validate_spec live in their own modules; callers find them here too,
# next to load_spec, which is the two of them after a read.
__all__ = [
    "MAX_SPEC_BYTES", "apply_overrides", "dump_spec", "load_spec", "parse_spec_bytes",
    "parse_spec_text", "read_spec_data", "spec_to_data", "validate_spec",
]

MAX_SPEC_BYTES = 1 << 20  # a spec is a few hundred bytes; anything past 1 MiB is a mistake


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


def load_spec(source: str | Path | dict[str, Any], overrides: Iterable[str] = (), *, registry: Registry) -> Experiment:
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
