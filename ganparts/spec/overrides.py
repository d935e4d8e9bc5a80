"""``--set a.b.c=value`` overrides: edits to a spec's plain data before it is validated."""

from __future__ import annotations

import copy
from typing import Any, Iterable

import yaml

from ganparts.errors import SpecError
from ganparts.spec.safe_yaml import safe_load_yaml


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
