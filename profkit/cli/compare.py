"""``profkit compare RUN_A RUN_B``: did B get slower or faster than A, and where?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from profkit.errors import EXIT_MODE_FAILED, EXIT_OK, RunDirError, UsageError

DEFAULT_REPORT = "compare.html"
PROGRAM_RUN = "a profkit run of a program, whose modes are its pool sites"
PROFILE_RUN = "a profkit profile run of a task"
#: profkit.analysis.compare_stats' defaults, repeated so ``--help`` does not import numpy and pandas
#: (tests/unit/test_compare_stats.py checks they agree).
DEFAULT_MIN_EFFECT_PCT = 5.0
DEFAULT_ALPHA = 0.01


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compare run B against run A (two folders written by profkit profile or ab, or two written "
        "by profkit run, whose pool sites are compared on their tasks' times). Per mode present in "
        "both: the change in wall time with a Welch t interval on the log times of B and A, whose "
        "level holds across all the modes compared (Bonferroni); a change is called only when the "
        "interval excludes 1 and the change is at least --min-effect. Per function: the biggest "
        "changes in self time; per line: the biggest moves in share; and a differential call tree "
        "in the HTML report."
    )
    parser.epilog = (
        "exit codes: 0 ok (no mode called slower by more than --fail-above), 1 a mode was called "
        "slower by more than --fail-above or has no timings in B, 2 usage error (not a run folder, "
        "corrupt or newer run.json, no mode in common, bad flag)"
    )
    parser.add_argument("run_a", metavar="RUN_A", help="the baseline run folder")
    parser.add_argument("run_b", metavar="RUN_B", help="the run folder to compare with the baseline")
    parser.add_argument("--fail-above", metavar="PCT",
                        help="exit 1 when a mode is called slower (the rule below) by more than PCT "
                        "percent, or when a mode timed in A has no timings in B (it failed)")
    parser.add_argument("--min-effect", metavar="PCT", default=str(DEFAULT_MIN_EFFECT_PCT),
                        help="smallest change, in percent, that is ever called slower or faster "
                        f"(default: {DEFAULT_MIN_EFFECT_PCT:g})")
    parser.add_argument("--alpha", metavar="P", default=f"{DEFAULT_ALPHA:g}",
                        help="the interval of B/A is a (1 - P) t interval, shared out over the modes "
                        f"compared (default: {DEFAULT_ALPHA:g}, a 99%% interval in all)")
    parser.add_argument("--measure", choices=("auto", "wall", "cpu"), default="auto",
                        help="which per-repeat time the rule compares: wall, cpu, or auto (the "
                        "default): wall time unless the repeats' wall / CPU ratio moved by --min-effect "
                        "or more between or within the runs (the machine's load came and went) and CPU "
                        "time gives the narrower interval, then CPU time")
    parser.add_argument("--top", metavar="N", default="10",
                        help="functions and lines per mode in the change tables (default: 10)")
    parser.add_argument("--output", "-o", metavar="PATH",
                        help=f"write the HTML report here (default: RUN_B/{DEFAULT_REPORT}); an "
                        "existing file is replaced only if it is an earlier profkit compare report")
    parser.add_argument("--no-html", action="store_true", help="print the table only")
    parser.add_argument("--json", action="store_true",
                        help="print the comparison as JSON instead of the table")


def _number(text: str, what: str, low: float, high: float | None = None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, got {text!r}") from None
    if not (value >= low and (high is None or value < high)) or value != value:
        bound = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
        raise UsageError(f"{what} must be {bound}, got {text}")
    return value


def _report_path(args: argparse.Namespace) -> Path:
    from profkit.render.compare_html import is_compare_report

    path = Path(args.output) if args.output else Path(args.run_b) / DEFAULT_REPORT
    if path.is_dir():
        raise UsageError(f"--output {path} is a folder: give a file name such as {path / DEFAULT_REPORT}")
    if path.exists() and not is_compare_report(path):
        raise RunDirError(f"{path} exists and is not a profkit compare report: choose another "
                          "--output, or move the file away")
    return path


def run(args: argparse.Namespace) -> int:
    from profkit.analysis.compare import PROGRAM, Measure, compare_runs
    from profkit.fmt import fmt_change
    from profkit.render.compare_text import format_ratio, format_text, time_label
    from profkit.render.text import compare_note, comparison_json
    from profkit.run import load
    from profkit.store import atomic_write_text, to_json

    alpha = _number(args.alpha, "--alpha", 0.0, 1.0)
    if alpha == 0.0:
        raise UsageError("--alpha must be between 0 and 1, got 0")
    min_effect = _number(args.min_effect, "--min-effect", 0.0)
    fail_above = _number(args.fail_above, "--fail-above", 0.0) if args.fail_above is not None else None
    try:
        top = int(args.top)
    except ValueError:
        raise UsageError(f"--top must be a whole number, got {args.top!r}") from None
    if top < 0:
        raise UsageError(f"--top must be >= 0, got {top}")
    report = None if args.no_html else _report_path(args)

    run_a, run_b = load(args.run_a), load(args.run_b)
    kinds = {path: PROGRAM_RUN if run.meta.kind == PROGRAM else PROFILE_RUN
             for path, run in ((args.run_a, run_a), (args.run_b, run_b))}
    if len(set(kinds.values())) > 1:
        raise UsageError(f"cannot compare {args.run_a} ({kinds[args.run_a]}) with {args.run_b} "
                         f"({kinds[args.run_b]}): their modes are not the same kind of thing; compare "
                         "two profkit run folders, or two folders of profkit profile or ab")
    measure = None if args.measure == "auto" else Measure(args.measure)
    comparison = compare_runs(run_a, run_b, level=1.0 - alpha, min_effect_pct=min_effect, top=top,
                              top_lines=top, measure=measure)
    if not comparison.modes:
        raise UsageError(f"nothing to compare: the runs have no mode in common ({args.run_a}: "
                         f"{', '.join(comparison.only_a) or 'none'}; {args.run_b}: "
                         f"{', '.join(comparison.only_b) or 'none'})")
    for warning in comparison.warnings:
        sys.stderr.write(f"profkit: warning: {compare_note(warning)}\n")
    if args.json:
        print(to_json(comparison_json(comparison)))
    else:
        print(format_text(comparison, fail_above))

    if report is not None:
        from profkit.render.compare_html import render

        try:
            atomic_write_text(report, render(comparison, fail_above))
        except OSError as exc:
            raise RunDirError(f"cannot write {report}: {exc.strerror or exc}: "
                              "choose a writable --output, or use --no-html") from exc
        if not args.json:
            print(f"\nreport: {report}")

    if fail_above is not None and comparison.gate_fails(fail_above):
        for m in comparison.slower_than(fail_above):
            sys.stderr.write(f"profkit: {m.mode} is {fmt_change(m.change_pct)} slower in "
                             f"{time_label(m, comparison.program)} "
                             f"time, B/A {format_ratio(m)} at {100 * (1 - alpha):g}%, above --fail-above "
                             f"{fail_above:g}%\n")
        for m in comparison.lost_in_b():
            sys.stderr.write(f"profkit: {m.mode} has no timings in B (status "
                             f"{comparison.run_b.status.get(m.mode, '?')}): it cannot pass --fail-above\n")
        return EXIT_MODE_FAILED
    return EXIT_OK
