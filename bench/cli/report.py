"""`report`: rewrite the reports of a stored run (results.csv, report.md with its figures, report.tex,
report.html); exit 1 when the disk refuses them."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.session.spec import DEFAULT_OUT


def add_commands(commands) -> None:
    report = commands.add_parser("report", help="rewrite results.csv, report.md, report.html and the "
                                                "figures of a run")
    report.add_argument("out", nargs="?", default=DEFAULT_OUT)
    report.add_argument("--references", action="append", default=[], metavar="FILE",
                        help="a file of published results to set beside matching rows (repeatable; the "
                             "built-in sets in reports/references/ are always read)")


def command_report(args: argparse.Namespace) -> int:
    from bench.session.runner import check_writable
    from reports.sinks import write_final_reports

    out = Path(args.out).expanduser()
    check_writable(out)
    closing = write_final_reports(out, reference_files=[Path(path) for path in args.references],
                                  command=args.command_line, nothing_stored_is_ok=False)
    if not closing.ok:
        return 1
    if closing.text:
        print(closing.text)
    return 0
