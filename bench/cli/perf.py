"""`perf`: weight-free speed and memory of every method beside its peer, on a named model shape."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli.options import add_dataclass_options, add_device_options, dataclass_from_options
from bench.session.plugins import WORKER_PRELOAD, load_plugins, plugin_files


def add_commands(commands) -> None:
    from bench.perf.config import PerfConfig
    from bench.perf.shapes import SHAPES

    parser = commands.add_parser("perf", help="weight-free training/inference speed and peak memory of each "
                                              "method beside its peer on a model shape")
    parser.add_argument("--shape", default="bert-tiny",
                        help=f"one of {', '.join(SHAPES)}, or a config.json path (default: bert-tiny)")
    parser.add_argument("--methods", default="all",
                        help="comma-separated rows: methods, the perf variants they declare (lpt_cached: "
                             "LPT once its cache of the states entering layer k is warm; p_tuning_mlp: "
                             "p_tuning in its peer's setup) and peers (peer_full_ft, peer_lora, ...); 'all' "
                             "= all of them")
    add_dataclass_options(parser.add_argument_group("measurement"), PerfConfig)
    add_device_options(parser)  # every row, peers included, runs in the precision chosen
    parser.add_argument("--no-speed-features", action="store_true",
                        help="switch off fused AdamW and bf16 storage of frozen weights")
    parser.add_argument("--compile", action="store_true", help="torch.compile our methods' training forward")
    parser.add_argument("--out", default="runs/perf", help="folder for perf.csv and perf.md")
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE",
                        help="a .py plugin registering methods to measure too (repeatable)")


def command_perf(args: argparse.Namespace) -> int:
    from bench.core.device import choose_device
    from bench.perf.rows import select_rows
    from bench.perf.runner import PerfConfig, run_perf
    from bench.perf.shapes import shape_config
    from reports.perf import write_perf

    setup = load_plugins(plugin_files(args.plugin))
    names = "all" if args.methods == "all" else [name.strip() for name in args.methods.split(",")
                                                  if name.strip()]
    rows = tuple(select_rows(names))
    shape_config(args.shape)  # unknown shapes fail before any child process starts
    choose_device(args.device, precision=args.precision)  # so do a missing GPU or bf16
    config = dataclass_from_options(PerfConfig, args, shape=args.shape, rows=rows, device=args.device,
                                    precision=args.precision, speed_features=not args.no_speed_features,
                                    compile=args.compile)
    print(write_perf(config, run_perf(config, setup, WORKER_PRELOAD), Path(args.out)))
    return 0
