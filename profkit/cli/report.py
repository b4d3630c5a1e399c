"""``profkit report RUN_DIR``: re-render the report from the saved frames; nothing runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from profkit.cli._common import add_run_dir
from profkit.errors import EXIT_OK, RunDirError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir(parser)
    parser.add_argument("--output", "-o", help="write the report here instead of "
                        "RUN_DIR/index.html; an existing file is replaced only if it is a "
                        "profkit report of this run or of no run")


def report_target(run_dir: Path, output: str | None) -> Path:
    """Where to write the report; refuse to replace anything profkit did not write."""
    from profkit.render.html import check_report_target
    from profkit.store import REPORT_FILE

    if output is None:
        return run_dir / REPORT_FILE
    target = Path(output)
    check_report_target(target, run_dir, f"--output {target}", "another --output")
    return target


def run(args: argparse.Namespace) -> int:
    from profkit.run import load

    run_dir = Path(args.run_dir)
    run_ = load(run_dir)
    target = report_target(run_dir, args.output)
    if run_.meta.kind == "program":
        from profkit.program.record import reanalyse

        reanalyse(run_)
    else:
        run_.analyse()
    try:
        run_.to_html(target)
    except OSError as exc:
        raise RunDirError(f"cannot write {target}: {exc.strerror or exc}: choose a writable "
                          "--output") from exc
    print(target)
    return EXIT_OK
