"""``profkit report RUN_DIR``: re-render the report from the saved frames; nothing runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from profkit.cli._common import add_run_dir
from profkit.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir(parser)
    parser.add_argument("--output", "-o", help="write the report here instead of "
                        "RUN_DIR/index.html")


def run(args: argparse.Namespace) -> int:
    from profkit.analysis import analyse
    from profkit.store import REPORT_FILE, load

    run_ = load(args.run_dir)
    from profkit.frames import prediction_frame

    run_.analysis = analyse(run_.frames, run_.meta)
    run_.frames["prediction"] = prediction_frame(run_.analysis)
    target = Path(args.output) if args.output else Path(args.run_dir) / REPORT_FILE
    run_.to_html(target)
    print(target)
    return EXIT_OK
