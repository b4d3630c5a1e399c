"""``profkit profile TARGET``: run, measure, save, render, summarise."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from profkit import interrupts
from profkit.cli.progress import Plan, make_progress
from profkit.errors import EXIT_MODE_FAILED, EXIT_OK

if TYPE_CHECKING:
    from profkit.config import Config
    from profkit.options import Options
    from profkit.workloads.model import Workload


def add_arguments(parser: argparse.ArgumentParser, *, target_required: bool = True) -> None:
    """The options of ``profkit profile`` (``%profkit`` reuses them, its TARGET optional)."""
    parser.add_argument("target", metavar="TARGET", nargs=None if target_required else "?",
                        help="a built-in workload (see profkit list), package.module:name "
                        "or path/to/file.py:name")
    add_run_options(parser)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """How to run and measure: shared by ``profile``, ``ab`` and ``%profkit``."""
    from profkit.options import add_flags

    add_flags(parser)
    from profkit.cli._common import add_out

    add_out(parser, "run folder to create (default: reports/<workload>-<YYYYmmdd-HHMMSS>); "
            "never overwritten")
    output = parser.add_argument_group("output")
    output.add_argument("--quiet", "-q", action="store_true", help="no progress, no summary")
    output.add_argument("--json", action="store_true",
                        help="print the run.json analysis summary to stdout")
    output.add_argument("--open", action="store_true", help="open the report in a browser")


@dataclass
class Prepared:
    """What a command runs: the workload, its checked options, the run folder and the config."""

    workload: Workload
    options: Options
    out: Path
    config: Config


def prepare(args: argparse.Namespace, workload: Workload | None = None,
            defaults: dict[str, object] | None = None) -> Prepared:
    """The workload, its Options from the flags and ``[tool.profkit]`` (flags win), the folder.

    ``workload`` replaces ``args.target`` (the notebook magic builds one from a
    function in the user's namespace). The folder is absolute: a task may chdir,
    and the run still lands here.
    """
    from profkit.config import load_config
    from profkit.options import build_options, given_flags
    from profkit.pipeline import default_out_dir
    from profkit.workloads.registry import resolve

    config = load_config()
    if workload is None:
        workload = resolve(args.target, config.workloads)
    flags = given_flags(args)
    where = {k: v for k, v in config.where().items() if k not in flags}
    options = build_options({**config.options, **flags}, where=where, defaults=defaults)
    out = (Path(args.out) if args.out else
           default_out_dir(workload.name, config.out or "reports")).absolute()
    return Prepared(workload, options, out, config)


def progress_plan(options: Options) -> Plan:
    """What the progress display needs to know of the run ahead."""
    return Plan(n_modes=len(options.modes), repeat=options.repeat, max_rounds=options.max_rounds,
                max_time_s=options.max_rounds_s, line_budget=options.line_budget_s)


def run(args: argparse.Namespace) -> int:
    from profkit.pipeline import profile
    from profkit.render import render
    from profkit.store import claim_fresh_run_dir, release_run_dir

    prepared = prepare(args)
    out = prepared.out
    if not args.out:  # claimed now, so two runs started in the same second get one each
        out = claim_fresh_run_dir(out)
    progress = make_progress(args.quiet, progress_plan(prepared.options),
                             title=f"profkit {prepared.workload.name}")
    try:
        run_ = profile(prepared.workload, out=out, progress=progress, target=args.target,
                       options=prepared.options)
    finally:
        progress.done()
        release_run_dir(out, discard=True)  # only if still held: nothing was saved in it
    analysed = run_.meta.analysis_error is None  # if not, the store's warning said why
    if args.json and analysed:
        print(render(run_, "json"))
    elif not args.quiet and analysed:
        print(render(run_, "console"))
    out = run_.path or out
    report = out / "index.html"
    if args.open and report.is_file():
        from profkit.cli._common import open_browser

        open_browser(report.resolve().as_uri())
    code = EXIT_OK
    if not run_.complete:
        sys.stderr.write(f"profkit: interrupted; what finished is saved in {out}\n")
        code = interrupts.exit_code()
    elif run_.failed_modes:
        from profkit.render.text import ended_modes

        sys.stderr.write(f"profkit: {ended_modes(run_.meta.status)}; "
                         f"see {report if report.is_file() else out / 'run.json'}\n")
        code = EXIT_MODE_FAILED
    elif not analysed:
        code = EXIT_MODE_FAILED
    if run_.meta.environment.get("abandoned_threads"):
        # A timed-out task still runs in a thread no one can kill: exit without joining it,
        # and without leaving the processes it started (its own pool) behind.
        from profkit.executors.base import kill_new_children_before_exit
        from profkit.workloads.registry import remove_import_shims

        sys.stdout.flush()
        sys.stderr.flush()
        remove_import_shims()
        kill_new_children_before_exit(getattr(args, "_children_before", set()))
        os._exit(code)
    return code
