"""``new-plugin``: write a ready plugin package (entry point, one example block, tests, spec, README)."""

from __future__ import annotations

from pathlib import Path

from ganparts.plugins import default_registry
from ganparts.testing.scaffold import KINDS, names, write_plugin


def add_commands(commands) -> None:
    p = commands.add_parser(
        "new-plugin", help="write a plugin package with one example block, tests and an example spec",
        description="Write a plugin package: pyproject.toml with the entry point, a module with one block of --kind "
        "called NAME, tests that use ganparts.testing, an example spec and a README. After `pip install -e DIR` its "
        "tests and `ganparts plugins --check NAME` pass.",
    )
    p.add_argument("name", metavar="NAME", help="plugin and block name, e.g. axial (distribution ganparts-axial, module ganparts_axial)")
    p.add_argument("--kind", choices=KINDS, default="attention", help="the kind of the example block (default: attention)")
    p.add_argument("--dir", type=Path, help="directory to write the package into (default: ./ganparts-NAME); must be new or empty")
    p.set_defaults(handler=new_plugin, threads=1)


def new_plugin(args) -> int:
    root = write_plugin(args.name, kind=args.kind, directory=args.dir, registry=default_registry())
    module = names(args.name)["module"]
    print(f"ganparts: wrote plugin {args.name} ({args.kind} block `{args.name}`) to {root}")
    print(f"  edit {root / (module + '.py')}, then:")
    print(f"  pip install -e {root}    # and: pytest {root}; ganparts plugins --check {args.name}")
    return 0
