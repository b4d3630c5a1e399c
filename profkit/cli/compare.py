"""``profkit compare RUN_A RUN_B``: placeholder until the compare command lands."""

from __future__ import annotations

import argparse

from profkit.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", metavar="RUN_A")
    parser.add_argument("run_b", metavar="RUN_B")


def run(args: argparse.Namespace) -> int:
    raise UsageError("compare is not available yet")
