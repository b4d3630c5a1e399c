"""``profkit report RUN_DIR``: re-render the report from the saved frames; nothing runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from profkit.cli._common import add_run_dir
from profkit.errors import EXIT_OK, RunDirError, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_dir(parser)
    parser.add_argument("--output", "-o", help="write the report here instead of "
                        "RUN_DIR/index.html; an existing file is replaced only if it is a "
                        "profkit report of this run or of no run")


def report_target(run_dir: Path, output: str | None) -> Path:
    """Where to write the report; refuse to replace anything profkit did not write.

    An existing file may be replaced only if it is a profkit report, and not the report
    of another run folder (one with its own run.json).
    """
    from profkit.render.html import is_report
    from profkit.store import REPORT_FILE, RUN_FILE

    if output is None:
        return run_dir / REPORT_FILE
    target = Path(output)
    if target.is_dir():
        raise UsageError(f"--output {target} is a folder: give a file name such as "
                         f"{target / 'report.html'}")
    if target.exists() or target.is_symlink():
        if target.is_symlink() or not is_report(target):
            raise RunDirError(f"--output {target} exists and is not a profkit report: choose "
                              "another --output, or move the file away")
        folder = target.parent.resolve()
        if folder != run_dir.resolve() and (folder / RUN_FILE).exists():
            raise RunDirError(f"--output {target} is the report of another run ({folder}): "
                              "choose another --output")
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
