"""Command line: `run` (the default), `report`, `list`, `check`, `baseline`, `compare`, `perf`,
`pretrain` and `probe`.
Exit codes: 0 success, 1 a cell failed, the disk refused a record or the reports, or a check found a
regression, a failed cell or a missing configuration, 2 bad input (one line on stderr), 3 a check that
found nothing wrong but a change it cannot resolve (inconclusive), 130 interrupted, 143 terminated
(SIGTERM)."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from bench.core.errors import BenchError

# with no arguments at all: the embedded default, every method for 10 epochs (some methods default to
# more elsewhere) so that it stays within minutes on 2 CPU cores
EMBEDDED_DEFAULT_ARGS = ["run", "--epochs", "10", "--jobs", "auto"]
COMMANDS = ("run", "report", "list", "perf", "check", "baseline", "compare", "pretrain", "probe")


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr (what is wrong, and where the help is), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from bench.cli.analysis import add_analysis_commands
    from bench.cli.listing import add_list_command
    from bench.cli.perf import add_perf_command
    from bench.cli.pretrain import add_pretrain_commands
    from bench.cli.run import DEFAULT_OUT, add_run_arguments

    parser = OneLineParser(
        prog="run_bench.py",
        description="PETBench: train and evaluate tasks x PETuning methods and report accuracy, throughput "
                    "and memory. With no arguments: the embedded default, `run --epochs 10 --jobs auto` "
                    "(task sst2, 100 shots, all-MiniLM-L6-v2, every method, seed 42). Options before any "
                    "command mean `run`.",
        epilog="exit codes: 0 success; 1 a cell failed or the disk refused a record or the reports (run, "
               "report) or a regression, a failed cell or a missing configuration was found (check); 2 "
               "bad input; 3 nothing failed but a change is inconclusive (check, unless "
               "--allow-inconclusive); 130 interrupted, 143 terminated (results written so far are kept)")
    commands = parser.add_subparsers(dest="command")
    add_run_arguments(commands.add_parser("run", help="run a grid of cells (the default command)"))
    report = commands.add_parser("report", help="rewrite results.csv, report.md, report.html and the "
                                                "figures of a run")
    report.add_argument("out", nargs="?", default=DEFAULT_OUT)
    report.add_argument("--references", action="append", default=[], metavar="FILE",
                        help="a file of published results to set beside matching rows (repeatable; the "
                             "built-in sets in reports/references/ are always read)")
    add_list_command(commands)
    add_analysis_commands(commands)
    add_perf_command(commands)
    add_pretrain_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bench.cli.protocols import expand_protocol

    argv = list(sys.argv[1:] if argv is None else argv)
    command = list(argv)
    if not argv:
        argv = list(EMBEDDED_DEFAULT_ARGS)
    elif argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = ["run", *argv]
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:  # building the parser imports the libraries and plugins: seconds a stop signal may arrive in
        start_cell_server_early(argv)
        parser = build_parser()
        if argv[0] == "run":
            argv = expand_protocol(argv)
        args = parser.parse_args(argv)
        args.command_line = command_line(command)
        return _handler(args.command)(args)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: results written so far are kept; re-run the same command to resume",
              file=sys.stderr)
        return 130
    except Terminated:
        print("terminated (SIGTERM): results written so far are kept; re-run the same command to resume",
              file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)


def start_cell_server_early(argv: Sequence[str]) -> None:
    """A `run` on the local executor (the default) starts its cells' fork server now, before this
    process imports the libraries and plugins: the two imports (about 11 s each on an older 2-core
    CPU) then run side by side instead of one after the other. A run that needs no server after all
    (bad input, say) leaves it unused; it exits with this process."""
    if argv[0] != "run" or any(token in ("-h", "--help", "--dry-run") or token.startswith("--executor")
                               for token in argv[1:]):
        return
    from bench.cli.plugins import WORKER_PRELOAD
    from bench.training.isolation import fork_server

    fork_server(WORKER_PRELOAD)


def command_line(typed: list[str]) -> str:
    """The command as typed, for report.html's header (no arguments: say which default ran)."""
    if not typed:
        return f"run_bench.py  (no arguments: {shlex.join(EMBEDDED_DEFAULT_ARGS)})"
    return shlex.join(["run_bench.py", *typed])


class Terminated(BaseException):  # noqa: N818  (it names the signal, not an error)
    """SIGTERM arrived: unwind like an interrupt (no cell's `except Exception` swallows it), so the
    exit says so in one line."""


def _terminate(signum, frame) -> None:
    raise Terminated


def _handler(command: str):
    from bench.cli import analysis, listing, perf, pretrain, run

    handlers = {"run": run.command_run, "report": command_report, "list": listing.command_list,
                "perf": perf.command_perf, "check": analysis.command_check,
                "baseline": analysis.command_baseline, "compare": analysis.command_compare,
                "pretrain": pretrain.command_pretrain, "probe": pretrain.command_probe}
    return handlers[command]


def command_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.cli.run import check_writable, write_final_reports

    out = Path(args.out).expanduser()
    check_writable(out)
    markdown = write_final_reports(out, reference_files=[Path(f) for f in args.references],
                                   command=args.command_line)
    if markdown is None:
        return 1
    print(markdown)
    return 0
