"""``profkit compare RUN_A RUN_B``: did B get slower or faster than A, and where?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from profkit.errors import EXIT_MODE_FAILED, EXIT_OK, RunDirError, UsageError

if TYPE_CHECKING:
    from profkit.analysis.compare import Comparison

DEFAULT_REPORT = "compare.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compare run B against run A (two folders written by profkit profile). Per mode "
        "present in both: the change in median wall time, a two-sided Mann-Whitney U test on "
        "the repeats and a bootstrap 95% interval of median(B) / median(A); per function: "
        "the biggest changes in self time. Writes an HTML report too."
    )
    parser.epilog = (
        "exit codes: 0 ok (or no significant slowdown above --fail-above), 1 a mode got "
        "significantly slower than --fail-above or failed in B, 2 usage error (not a run folder, "
        "corrupt or newer run.json, no mode in common, bad flag)"
    )
    parser.add_argument("run_a", metavar="RUN_A", help="the baseline run folder")
    parser.add_argument("run_b", metavar="RUN_B", help="the run folder to compare with the baseline")
    parser.add_argument("--fail-above", metavar="PCT",
                        help="exit 1 when a mode got slower by more than PCT percent and the "
                        "change is significant (p < --alpha), or when a mode timed in A has no "
                        "timings in B (it failed)")
    parser.add_argument("--alpha", metavar="P", default="0.05",
                        help="significance level of the Mann-Whitney U test (default: 0.05); "
                        "5 vs 5 repeats reach p = 0.0079 at best, 3 vs 3 only 0.1")
    parser.add_argument("--top", metavar="N", default="10",
                        help="functions per mode in the self-time table (default: 10)")
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


def format_text(comparison: Comparison) -> str:
    """The plain-text tables ``profkit compare`` prints."""
    from profkit.analysis.compare import format_change, format_p
    from profkit.analysis.verdict import fmt_seconds
    from profkit.render.console import table

    a, b = comparison.run_a, comparison.run_b
    out = [
        f"profkit compare: B against A (alpha {comparison.alpha:g})",
        f"  A: {a['path']}  ({a['workload']}, {a['started_at'] or '?'})",
        f"  B: {b['path']}  ({b['workload']}, {b['started_at'] or '?'})",
        "",
    ]
    rows = []
    for m in comparison.modes:
        workers = str(m.workers_a) if m.workers_a == m.workers_b else f"{m.workers_a}->{m.workers_b}"
        ratio = "-" if m.ratio is None else f"{m.ratio:.3f}"
        if m.ratio is not None and m.ratio_ci:
            ratio += f" [{m.ratio_ci[0]:.3f}-{m.ratio_ci[1]:.3f}]"
        rows.append([m.mode, workers, f"{m.repeats_a}/{m.repeats_b}", fmt_seconds(m.median_a_s),
                     fmt_seconds(m.median_b_s), format_change(m.change_pct), ratio,
                     format_p(m.p_value), m.verdict])
    if rows:
        out += [
            "Wall time (median of the repeats; B/A above 1 is slower; Mann-Whitney U, two-sided)",
            table(["mode", "workers", "repeats", "median A", "median B", "change",
                   "B/A [95% CI]", "p", "verdict"], rows),
        ]
    for mode, changes in comparison.functions.items():
        if not changes:
            continue
        frows = []
        for c in changes:
            label = c.name if c.filename == "~" else f"{c.name} ({Path(c.filename).name}:{c.lineno})"
            if c.status != "changed":
                label += f" [{c.status}]"
            frows.append([label, fmt_seconds(c.self_a_s), fmt_seconds(c.self_b_s),
                          ("+" if c.delta_s >= 0 else "-") + fmt_seconds(abs(c.delta_s)),
                          format_change(c.change_pct), str(c.ncalls_a), str(c.ncalls_b)])
        out += ["", f"Self time, {mode}: top {len(changes)} changes (one cProfile pass each, no test)",
                table(["function", "self A", "self B", "delta", "change", "calls A", "calls B"], frows)]
    only = [f"only in {side}: {', '.join(modes)}"
            for side, modes in (("A", comparison.only_a), ("B", comparison.only_b)) if modes]
    if only:
        out += ["", *only]
    return "\n".join(out)


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
    from profkit.analysis.compare import compare_runs, format_p
    from profkit.store import atomic_write_text, load, to_json

    alpha = _number(args.alpha, "--alpha", 0.0, 1.0)
    if alpha == 0.0:
        raise UsageError("--alpha must be between 0 and 1, got 0")
    fail_above = _number(args.fail_above, "--fail-above", 0.0) if args.fail_above is not None else None
    try:
        top = int(args.top)
    except ValueError:
        raise UsageError(f"--top must be a whole number, got {args.top!r}") from None
    if top < 0:
        raise UsageError(f"--top must be >= 0, got {top}")
    report = None if args.no_html else _report_path(args)

    run_a, run_b = load(args.run_a), load(args.run_b)
    comparison = compare_runs(run_a, run_b, alpha=alpha, top=top)
    if not comparison.modes:
        raise UsageError(f"nothing to compare: the runs have no mode in common ({args.run_a}: "
                         f"{', '.join(comparison.only_a) or 'none'}; {args.run_b}: "
                         f"{', '.join(comparison.only_b) or 'none'})")
    for warning in comparison.warnings:
        sys.stderr.write(f"profkit: warning: {warning}\n")
    if args.json:
        print(to_json(comparison.to_dict()))
    else:
        print(format_text(comparison))

    if report is not None:
        from profkit.render.compare_html import render

        try:
            atomic_write_text(report, render(comparison))
        except OSError as exc:
            raise RunDirError(f"cannot write {report}: {exc.strerror or exc}: "
                              "choose a writable --output, or use --no-html") from exc
        if not args.json:
            print(f"\nreport: {report}")

    if fail_above is not None:
        slower = comparison.slower_than(fail_above)
        for m in slower:
            sys.stderr.write(f"profkit: {m.mode} is {m.change_pct:.1f}% slower (p = {format_p(m.p_value)} "
                             f"< {alpha:g}), above --fail-above {fail_above:g}%\n")
        lost = comparison.lost_in_b()
        for m in lost:
            sys.stderr.write(f"profkit: {m.mode} has no timings in B (status "
                             f"{comparison.run_b['status'].get(m.mode, '?')}): it cannot pass --fail-above\n")
        if slower or lost:
            return EXIT_MODE_FAILED
    return EXIT_OK
