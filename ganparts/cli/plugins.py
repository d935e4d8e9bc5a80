"""``plugins``: every plugin (built-ins included), where it came from, what it registered."""

from __future__ import annotations

import json

from ganparts.plugins import DISABLE_AUTOLOAD_ENV, PluginReport, autoload_enabled, plugin_reports


def add_commands(commands) -> None:
    p = commands.add_parser(
        "plugins", help="list plugins: distribution, version, status and the blocks each registered (exit 1 if one failed)"
    )
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="show the traceback of each failed plugin")
    p.set_defaults(handler=plugins)


def plugins(args) -> int:
    reports = plugin_reports()
    if args.json:
        print(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        print(format_reports(reports))
        if args.verbose:
            for report in (r for r in reports if r.failed and r.details):
                print(f"\n{report.name}:\n{report.details.rstrip()}")
        failed = sum(r.failed for r in reports)
        print(f"\n{len(reports) - failed} loaded, {failed} failed")
        if not autoload_enabled():
            print(f"installed plugins were not loaded: {DISABLE_AUTOLOAD_ENV} is set")
    return 1 if any(r.failed for r in reports) else 0


def format_reports(reports: list[PluginReport]) -> str:
    """A table: plugin, distribution, version, status, then its blocks (or why it failed)."""
    header = ("plugin", "distribution", "version", "status", "blocks (or why it failed)")
    rows = [header] + [
        (r.name, r.distribution, r.version, r.status, r.reason if r.failed else _blocks(r)) for r in reports
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in [*widths, len(header[-1])]))
    return "\n".join(lines)


def _blocks(report: PluginReport) -> str:
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in report.blocks.items()) or "none"
