"""``profkit lines RUN_DIR``: the merged line profile of one mode, in the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from profkit.cli._common import add_mode, add_run_dir, pick_mode
from profkit.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir(parser)
    add_mode(parser)


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
    line_profiler.show_text(stats.timings, stats.unit, stream=sys.stdout)
    return EXIT_OK
