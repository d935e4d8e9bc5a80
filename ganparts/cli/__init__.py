"""``ganparts`` command line: ``ganparts <command> --help`` for each command."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from typing import TYPE_CHECKING

from ganparts.errors import UserError
from ganparts.runs import threads

if TYPE_CHECKING:
    import torch

COMMAND_MODULES = (
    "ganparts.cli.spec",
    "ganparts.cli.train",
    "ganparts.cli.sample",
    "ganparts.cli.plugins",
    "ganparts.cli.new_plugin",
    "ganparts.cli.eval",
    "ganparts.cli.compare",
    "ganparts.cli.app",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganparts", description="Interchangeable GAN parts: build, train and inspect GANs from spec files.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):  # a short command: one thread, so it does not stall a training beside it
        threads.limit(args.threads)
    logging.basicConfig(level=logging.INFO, format="ganparts: %(message)s", stream=sys.stderr)
    try:
        return args.handler(args) or 0
    except UserError as err:
        if getattr(args, "verbose", False) and err.__cause__ is not None:  # e.g. a plugin block's crash while building
            traceback.print_exception(err.__cause__, file=sys.stderr)
        for line in str(err).splitlines() or [type(err).__name__]:
            print(f"ganparts: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C while training, or one anywhere else
        print("ganparts: interrupted", file=sys.stderr)
        return 130


def resolve_device(name: str = "auto") -> torch.device:
    """``--device``: ``auto`` is CUDA where available, else the CPU; anything else as torch spells it."""
    import torch  # not at the top: `ganparts --help` and the app's launcher should not wait for torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def add_spec_options(parser: argparse.ArgumentParser) -> None:
    """``--set KEY.PATH=VALUE`` overrides, shared by every command that reads a spec."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
        help="override a spec field; VALUE is YAML (e.g. --set train.steps=200 --set 'model.generator.attention=[]')",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the traceback of a block that fails to build")
