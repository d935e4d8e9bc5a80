"""YAML that cannot be turned against the reader.

``safe_load_yaml`` accepts only YAML's plain data types (PyYAML's safe constructor: no
tag builds a Python object or runs code) and refuses, before constructing anything,
documents whose aliases expand to more than ``MAX_NODES`` values (a "billion laughs"
alias bomb stays a few hundred bytes on disk but expands to 10⁹ values for whoever
walks it) or refer to themselves (``&a [*a]``, which no validator can walk). A key
given twice in one mapping is refused too: plain YAML loaders keep the last silently.
"""

from __future__ import annotations

from typing import Any

import yaml

# A full spec is about 60 values; an alias bomb expands to billions. Anything past this
# is not a spec, and refusing it keeps validation (which walks every value) bounded.
MAX_NODES = 10_000

# libyaml's parser is faster and has its own nesting limit; the pure-Python one is the fallback.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLTooLarge(yaml.YAMLError):
    """A document whose aliases expand too far, or that contains itself."""


class _GuardedLoader(_BaseLoader):
    def construct_document(self, node: yaml.Node) -> Any:
        _check_expanded_size(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key, _ in node.value:
            # Merge keys (``<<: *base``) may be overridden on purpose; keys written twice may not.
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if (key.tag, key.value) in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, f"found duplicate key {key.value!r}", key.start_mark
                    )
                seen.add((key.tag, key.value))
        return super().construct_mapping(node, deep)


def safe_load_yaml(text: str) -> Any:
    """Parse one YAML document into plain data (dict, list, str, int, float, bool, None, dates).

    Raises ``yaml.YAMLError`` (``YAMLTooLarge`` for alias bombs and self-reference) or
    ``RecursionError`` for nesting deeper than the parser's stack.
    """
    return yaml.load(text, Loader=_GuardedLoader)  # noqa: S506 — a SafeLoader subclass


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expanded_size(root: yaml.Node) -> None:
    """Count the values ``root`` expands to, without expanding it.

    An alias is the same node object as its anchor, so sizes are memoised by identity
    and each node is visited once: the count of a 10⁹-value bomb costs a few dozen
    steps. The walk is iterative, so depth costs no stack.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()  # nodes whose children are being counted: the current path
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, counted = stack.pop()
        key = id(node)
        if counted:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_NODES:
                raise YAMLTooLarge(
                    f"its aliases expand to more than {MAX_NODES:,} values (at line {node.start_mark.line + 1}); "
                    "a spec is a few dozen — this looks like an alias bomb"
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YAMLTooLarge(f"an alias at line {node.start_mark.line + 1} refers to a collection that contains it")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
