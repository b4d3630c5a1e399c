"""``profkit list``: one line per workload, with its description."""

from __future__ import annotations

import argparse

from profkit.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help="also list workloads in these modules or .py files "
                        "(added to [tool.profkit] workloads)")


def run(args: argparse.Namespace) -> int:
    from profkit.config import load_config
    from profkit.workloads.registry import list_workloads

    config = load_config()
    workloads = list_workloads([*config.workloads, *args.modules])
    width = max(len(w.name) for w in workloads)
    for w in workloads:
        print(f"{w.name:<{width}}  {w.description}")
    return EXIT_OK
