"""Helpers shared by the commands."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from profkit.errors import UsageError


def open_browser(url: str) -> bool:
    """Open ``url`` in a browser that may outlive profkit: profkit ends every other process
    it leaves, but not this one (nor the session it makes), and adopts none of its orphans."""
    import webbrowser

    from profkit.executors.base import adopt_orphans, child_processes, keep_new_children

    adopt_orphans(False)
    before = child_processes()
    try:
        return webbrowser.open(url)
    finally:
        keep_new_children(before)


def add_run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by profkit profile")


def out_folder(value: str) -> str:
    """``--out`` as given: an empty one is refused, since it would quietly mean no ``--out``."""
    if not value:
        raise argparse.ArgumentTypeError("an empty folder name: give the run folder to create, "
                                         "or leave --out off for a fresh timestamped folder")
    return value


def add_out(parser: argparse.ArgumentParser, help: str) -> None:
    """``--out``: the run folder to create."""
    parser.add_argument("--out", type=out_folder, help=help)


def add_mode(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", help="which mode's stats (default: processes if present, "
                        "else the first mode)")


def pick_mode(available: Mapping[str, object], wanted: str | None, what: str, run_dir: Path,
              fix: str = "") -> str:
    """The requested mode if the run has it, else a sensible default; UsageError otherwise.
    ``fix``: how to make a run that has some, said when this one has none."""
    if not available:
        raise UsageError(f"{run_dir} has no {what} files: the run saved none"
                         + (f": {fix}" if fix else ""))
    if wanted is None:
        return "processes" if "processes" in available else next(iter(available))
    if wanted not in available:
        raise UsageError(f"{run_dir} has no {what} for mode {wanted!r}: choose from "
                         f"{', '.join(available)}")
    return wanted
