"""``profkit lines RUN_DIR``: the merged line profile of one mode, in the terminal.

Times print in µs, or ms when a line took 10 s or more, as ``python -m line_profiler``
prints them, whatever timer unit the stats were recorded in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from profkit.cli._common import add_mode, add_run_dir, pick_mode
from profkit.errors import EXIT_OK

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir(parser)
    add_mode(parser)
    parser.add_argument("--unit", choices=list(UNITS),
                        help="time unit of the table (default: us, or ms when a line took 10 s or more)")


def output_unit(timings: dict[Any, list[tuple[int, int, int]]], unit: float, wanted: str | None) -> float:
    """Seconds per printed unit: the one asked for, else µs unless a line's time reaches 10 s."""
    if wanted:
        return UNITS[wanted]
    longest = max((t for entries in timings.values() for _, _, t in entries), default=0) * unit
    return 1e-3 if longest >= 10 else 1e-6


def run(args: argparse.Namespace) -> int:
    import line_profiler

    from profkit.store import load_line_stats, read_run_json

    run_dir = Path(args.run_dir)
    data = read_run_json(run_dir)
    files = data.get("artifacts", {}).get("lines", {})
    mode = pick_mode(files, args.mode, "line profile (.lprof)", run_dir)
    stats = load_line_stats(run_dir / files[mode])
    items = data.get("modes", {}).get(mode, {}).get("line_items")
    n_items = data.get("workload", {}).get("n_items")
    print(f"# {mode}: line profile of {len(items) if items else '?'} of {n_items} items, "
          f"merged across workers ({files[mode]})")
    sys.stdout.flush()
    line_profiler.show_text(stats.timings, stats.unit, output_unit=output_unit(
        stats.timings, stats.unit, getattr(args, "unit", None)), stream=sys.stdout)  # type: ignore[arg-type]
    return EXIT_OK
