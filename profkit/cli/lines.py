"""``profkit lines RUN_DIR``: the merged line profile of one mode, in the terminal.

It reads the saved ``lines`` frame (parquet), never the ``.lprof`` pickle: opening a run
runs no code from it. ``python -m line_profiler lines/MODE.lprof`` remains the user's choice.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from profkit.cli._common import add_mode, add_run_dir, pick_mode
from profkit.errors import EXIT_OK
from profkit.fmt import printable
from profkit.model import Status

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}

if TYPE_CHECKING:
    import pandas as pd


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir(parser)
    add_mode(parser)
    parser.add_argument("--unit", choices=list(UNITS),
                        help="time unit of the table (default: us, or ms when a line took 10 s or more)")


def output_unit(longest_s: float, wanted: str | None) -> float:
    """Seconds per printed unit: the one asked for, else µs unless a line's time reaches 10 s."""
    if wanted:
        return UNITS[wanted]
    return 1e-3 if longest_s >= 10 else 1e-6


def format_lines(frame: pd.DataFrame, wanted_unit: str | None = None) -> str:
    """One mode's rows of the ``lines`` frame as ``python -m line_profiler`` prints them, per function."""
    unit = output_unit(float(frame["time_s"].max()) if not frame.empty else 0.0, wanted_unit)
    out: list[str] = [f"Timer unit: {unit:g} s"]
    header = f"{'Line #':>6} {'Hits':>9} {'Time':>12} {'Per Hit':>8} {'% Time':>8}  Line Contents"
    groups = frame.groupby(["filename", "func_lineno", "function"], sort=False)
    for (filename, func_lineno, function), rows in groups:
        total = float(rows["time_s"].sum())
        out += ["", f"Total time: {total:g} s", f"File: {filename}",
                f"Function: {function} at line {func_lineno}", "", header, "=" * len(header)]
        for row in rows.sort_values("lineno").to_dict("records"):
            hits, seconds = int(row["hits"]), float(row["time_s"])
            time_text = f"{seconds / unit:12.1f}" if hits else " " * 12
            per_hit = f"{seconds / unit / hits:8.1f}" if hits else " " * 8
            share = f"{float(row['pct']):8.1f}" if hits else " " * 8
            out.append(f"{int(row['lineno']):>6} {hits if hits else '':>9} {time_text} {per_hit} "
                       f"{share}  {row['source']}")
    return printable("\n".join(out))


def run(args: argparse.Namespace) -> int:
    from profkit.store import read_frame, read_run_json

    run_dir = Path(args.run_dir)
    meta, _ = read_run_json(run_dir)
    lines = read_frame(run_dir, "lines", meta)
    available = {str(m): None for m in lines["mode"].unique()}
    ended = {m: s for m, s in meta.status.items() if s is not Status.OK}
    if meta.kind == "program":
        fix = "run the program again with profkit run --lines"
    elif ended and len(ended) == len(meta.status):  # no mode got to its line pass
        fix = (f"no mode finished ({', '.join(f'{m} {s.value}' for m, s in ended.items())}): "
               f"its report says why; fix that and profile it again")
    else:
        fix = "profile it again with a line budget (profkit profile --line-budget SECONDS, or all)"
    mode = pick_mode(available, args.mode, "line profile", run_dir, fix)
    from profkit.render.line_coverage import line_coverage

    info = meta.modes.get(mode)
    items = info.line_items if info else None
    n_items = meta.items_of(mode)
    artifact = meta.artifacts.lines.get(mode)
    count = len(items) if items is not None else "?"
    print(f"# {mode}: line profile of {count} of {n_items} items, merged across workers"
          + (f" (raw stats: python -m line_profiler {shlex.quote(artifact)})" if artifact else ""))
    coverage = line_coverage(info, n_items) if info else None
    if coverage:
        print(f"# {coverage}")
    print(format_lines(lines[lines["mode"] == mode], getattr(args, "unit", None)))
    return EXIT_OK
