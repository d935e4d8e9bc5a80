"""``plugins``: every plugin (built-ins included), where it came from, what it registered."""

from __future__ import annotations

import json

from ganparts.plugins import DISABLE_AUTOLOAD_ENV, PluginReport, autoload_enabled, load_plugins, plugin_reports


def add_commands(commands) -> None:
    p = commands.add_parser(
        "plugins", help="list plugins: distribution, version, status and the blocks each registered (exit 1 if one failed)"
    )
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="show the traceback of each failed plugin")
    p.add_argument(
        "--check", metavar="NAME", nargs="+",
        help="run ganparts.testing's contract checks (and a 2-step training) on every block each plugin NAME registers; "
        "prints block, check, pass/fail, reason; exit 1 on a failure",
    )
    p.set_defaults(handler=plugins)


def plugins(args) -> int:
    if args.check:
        return check(args.check)
    reports = plugin_reports()
    if args.json:
        print(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        print(format_reports(reports))
        if args.verbose:
            for report in (r for r in reports if r.failed and r.details):
                print(f"\n{report.name}:\n{report.details.rstrip()}")
        failed = sum(r.failed for r in reports)
        skipped = sum(len(r.skipped) for r in reports)
        print(f"\n{len(reports) - failed} loaded, {failed} failed" + (f", {skipped} block(s) skipped for a name clash" if skipped else ""))
        if not autoload_enabled():
            print(f"installed plugins were not loaded: {DISABLE_AUTOLOAD_ENV} is set")
    return 1 if any(r.failed or r.skipped for r in reports) else 0


def check(names: list[str]) -> int:
    """``plugins --check NAME …``: one table of every check of every block of the plugins, then a line per plugin."""
    from ganparts.testing.plugin import check_plugin  # torch-heavy: only when asked

    loaded = load_plugins()
    results = {name: check_plugin(name, plugins=loaded) for name in names}
    rows = [("block", "check", "result", "reason")] + [(r.block, r.check, r.status, r.reason) for found in results.values() for r in found]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[3]]).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in [*widths, len(rows[0][3])]))
    print("\n".join(lines) + "\n")
    failed = {name: sum(r.failed for r in found) for name, found in results.items()}
    for name, found in results.items():
        print(f"{name}: {len(found) - failed[name]} of {len(found)} checks passed or were skipped, {failed[name]} failed")
    return 1 if any(failed.values()) else 0


def format_reports(reports: list[PluginReport]) -> str:
    """A table: plugin, distribution, version, status, then its blocks (or why it failed)."""
    header = ("plugin", "distribution", "version", "status", "blocks (or why it failed)")
    rows = [header] + [
        (r.name, r.distribution, r.version, r.status, r.reason if r.failed else "; ".join([_blocks(r), *r.skipped])) for r in reports
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in [*widths, len(header[-1])]))
    return "\n".join(lines)


def _blocks(report: PluginReport) -> str:
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in report.blocks.items()) or "none"
