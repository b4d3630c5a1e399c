"""``profkit ab TARGET_A TARGET_B``: two versions of a task raced in one interleaved run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from profkit import interrupts
from profkit.errors import EXIT_MODE_FAILED, EXIT_OK, RunDirError, UsageError

REPORT = "ab.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from profkit.analysis.compare_stats import DEFAULT_MIN_EFFECT_PCT
    from profkit.cli.profile import add_run_options

    parser.add_argument("target_a", metavar="TARGET_A", help="the baseline: a built-in workload, "
                        "package.module:name or path/to/file.py:name")
    parser.add_argument("target_b", metavar="TARGET_B", help="the version to test, over the same items")
    add_run_options(parser)
    gate = parser.add_argument_group("gate")
    gate.add_argument("--fail-above", metavar="PCT", help="exit 1 when a mode of B is called slower "
                      "than A by more than PCT percent, or B failed where A ran")
    gate.add_argument("--min-effect", metavar="PCT", default=str(DEFAULT_MIN_EFFECT_PCT),
                      help=f"smallest change ever called (default: {DEFAULT_MIN_EFFECT_PCT:g})")


def _percent(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number of percent, got {text!r}") from None
    if not 0 <= value < 1e6:
        raise UsageError(f"{what} must be >= 0, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from profkit.cli.profile import prepare, progress_plan
    from profkit.cli.progress import make_progress
    from profkit.model import DEFAULT_AB_MAX_ROUNDS_S
    from profkit.pipeline import ab
    from profkit.render.compare_html import render as render_html
    from profkit.render.compare_text import format_text
    from profkit.store import atomic_write_text, claim_fresh_run_dir, release_run_dir, to_json
    from profkit.workloads.registry import resolve

    fail_above = _percent(args.fail_above, "--fail-above")
    min_effect = _percent(args.min_effect, "--min-effect") or 0.0
    args.target = args.target_a
    prepared = prepare(args, defaults={"max_time": DEFAULT_AB_MAX_ROUNDS_S})
    workload_b = resolve(args.target_b, prepared.config.workloads)
    out = prepared.out
    if not args.out:
        out = claim_fresh_run_dir(out.with_name(f"ab-{out.name}"))
    progress = make_progress(args.quiet, progress_plan(prepared.options),
                             title=f"profkit ab {prepared.workload.name} {workload_b.name}")
    try:
        result = ab(prepared.workload, workload_b, out=out, progress=progress,
                    min_effect=min_effect, options=prepared.options)
    finally:
        progress.done()
        release_run_dir(out, discard=True)
    comparison = result.comparison
    report = Path(out) / REPORT
    try:
        atomic_write_text(report, render_html(comparison, fail_above))
    except OSError as exc:
        raise RunDirError(f"cannot write {report}: {exc.strerror or exc}") from exc
    from profkit.render.text import compare_note, comparison_json

    for warning in comparison.warnings:
        sys.stderr.write(f"profkit: warning: {compare_note(warning)}\n")
    if args.json:
        print(to_json(comparison_json(comparison)))
    elif not args.quiet:
        print(format_text(comparison, fail_above))
        print(f"\nA: {out / 'A'}\nB: {out / 'B'}\nreport: {report}")
    if not (result.run_a.complete and result.run_b.complete):
        sys.stderr.write(f"profkit: interrupted; what finished is saved in {out}\n")
        return interrupts.exit_code()
    gate = fail_above is not None and comparison.gate_fails(fail_above)
    if gate:
        for m in comparison.slower_than(fail_above or 0.0):
            sys.stderr.write(f"profkit: {m.mode}: B is {m.change_pct:+.1f}% slower than A, above "
                             f"--fail-above {fail_above:g}%\n")
        for m in comparison.lost_in_b():
            sys.stderr.write(f"profkit: {m.mode} has no timings in B (status "
                             f"{result.run_b.meta.status.get(m.mode, '?')}): it cannot pass "
                             "--fail-above\n")
    from profkit.render.text import ended_modes

    ended = [f"{side}: {said}" for side, run_ in (("A", result.run_a), ("B", result.run_b))
             for said in [ended_modes(run_.meta.status)] if said]
    if ended:
        sys.stderr.write(f"profkit: {'; '.join(ended)}; see {out}\n")
    if gate or ended:
        return EXIT_MODE_FAILED
    return EXIT_OK
