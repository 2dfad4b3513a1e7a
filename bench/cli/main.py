"""Command line: `run` (the default), `report`, `list`, `check`, `baseline`, `compare`, `perf`,
`pretrain` and `probe`.
Exit codes: 0 success, 1 a cell failed, the disk refused a record or the reports, or a check found a
regression, a failed cell or a missing configuration, 2 bad input (one line on stderr), 3 a check that
found nothing wrong but a change it cannot resolve (inconclusive), 130 interrupted, 143 terminated
(SIGTERM)."""

from __future__ import annotations

import argparse
import importlib
import shlex
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from bench.core.errors import BenchError

# with no arguments at all: the embedded default, every method for 10 epochs (some methods default to
# more elsewhere) so that it stays within minutes on 2 CPU cores
EMBEDDED_DEFAULT_ARGS = ["run", "--epochs", "10", "--jobs", "auto"]


@dataclass(frozen=True)
class Command:
    """A subcommand: the module whose `add_commands(subparsers)` adds its parser, and the function of
    that module that handles it (args -> exit code); modules import no numeric library at the top."""

    name: str
    module: str
    handler: str


COMMANDS = (
    Command("run", "bench.cli.run", "command_run"),
    Command("report", "bench.cli.report", "command_report"),
    Command("list", "bench.cli.listing", "command_list"),
    Command("perf", "bench.cli.perf", "command_perf"),
    Command("check", "bench.cli.analysis", "command_check"),
    Command("baseline", "bench.cli.analysis", "command_baseline"),
    Command("compare", "bench.cli.analysis", "command_compare"),
    Command("pretrain", "bench.cli.pretrain", "command_pretrain"),
    Command("probe", "bench.cli.pretrain", "command_probe"),
)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr (what is wrong, and where the help is), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; building it imports no numeric library (tests/test_cli.py checks)."""
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
    for module in dict.fromkeys(command.module for command in COMMANDS):
        importlib.import_module(module).add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = list(argv)
    if not argv:
        argv = list(EMBEDDED_DEFAULT_ARGS)
    elif argv[0] not in {entry.name for entry in COMMANDS} and argv[0] not in ("-h", "--help"):
        argv = ["run", *argv]
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        args = build_parser().parse_args(argv)
        args.command_line = command_line(command)
        if getattr(args, "command", None) is None:
            build_parser().print_help()
            return 0
        start_cell_server_early(args)
        entry = next(entry for entry in COMMANDS if entry.name == args.command)
        return getattr(importlib.import_module(entry.module), entry.handler)(args)
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


def start_cell_server_early(args: argparse.Namespace) -> None:
    """A `run` on the local executor (the default) starts its cells' fork server now, before this
    process imports the libraries and plugins: the two imports (about 11 s each on an older 2-core
    CPU) then run side by side instead of one after the other. A run that needs no server after all
    (bad input, say) leaves it unused; it exits with this process."""
    from bench.session.spec import DEFAULT_EXECUTOR

    if args.command != "run" or args.dry_run or args.executor != DEFAULT_EXECUTOR:
        return
    from bench.session.plugins import WORKER_PRELOAD
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
