"""``ganparts new-plugin NAME``: a ready plugin package with one example block.

The package it writes installs (``pip install -e DIR``), and then its own tests and
``ganparts plugins --check NAME`` pass unmodified; its author edits one class from there.

    ganparts-NAME/
      pyproject.toml          the entry point NAME = "ganparts_NAME"
      ganparts_NAME.py        the block: spec model, module, registration
      tests/conftest.py       the train_block fixture
      tests/test_ganparts_NAME.py   loads, keeps its contract (ganparts.testing), trains
      examples/NAME.yaml      a spec that uses the block
      README.md
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from ganparts.errors import UserError
from ganparts.runs.atomic import atomic_write
from ganparts.spec.registry import Registry
from ganparts.testing.templates import CHECKERS, CONFTEST, EXAMPLES, MODULES, OTHER_SETTINGS, PYPROJECT, README, TESTS

KINDS = ("attention", "norm", "loss")
NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")


def names(name: str) -> dict[str, str]:
    """Template values for a plugin called ``name``: distribution, module, class and function names."""
    words = re.split(r"[-_]", name)
    return {
        "name": name,
        "dist": f"ganparts-{name.replace('_', '-')}",
        "module": f"ganparts_{name.replace('-', '_')}",
        "Class": "".join(w.capitalize() for w in words),
        "function": "_".join(words),
    }


def write_plugin(name: str, *, kind: str = "attention", directory: str | Path | None = None, registry: Registry | None = None) -> Path:
    """Write the package for plugin ``name`` with one ``kind`` block called ``name``.

    Args:
        directory: where to write it (default: ``./ganparts-NAME``); must not exist or be empty.
        registry: refuse a block name already registered in it (it would be skipped as a clash).

    Returns:
        the package directory.

    Raises:
        UserError: a name that cannot be a plugin, block and module name; an unknown kind;
            a name taken; a directory that is not empty.
    """
    if not NAME.fullmatch(name) or len(name) > 40:
        raise UserError(f"NAME {name!r}: use lower-case letters and digits, words joined by - or _ (e.g. axial or pixel-norm), at most 40 characters")
    if kind not in KINDS:
        raise UserError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    if registry is not None and name in registry.list(kind):
        taken = registry.get(kind, name)
        raise UserError(f"NAME {name!r}: the {kind} block {name!r} exists already ({taken.origin().removeprefix('from ')}); choose another name")
    values = names(name) | {"kind": kind, "checker": CHECKERS[kind]}
    values["other"] = Template(OTHER_SETTINGS[kind]).substitute(values)
    root = Path(directory) if directory is not None else Path.cwd() / values["dist"]
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UserError(f"--dir {root}: exists and is not an empty directory; choose another")
    files = {
        "pyproject.toml": PYPROJECT,
        f"{values['module']}.py": MODULES[kind],
        "tests/conftest.py": CONFTEST,
        f"tests/test_{values['module']}.py": TESTS,
        f"examples/{name}.yaml": EXAMPLES[kind],
        "README.md": README,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, Template(template).substitute(values))
    return root
