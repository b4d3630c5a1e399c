"""Text for ``profkit compare``: the rule in words and the plain tables (numbers via profkit.fmt)."""

from __future__ import annotations

from pathlib import Path

from profkit.analysis.compare import Comparison, Coverage, ModeChange, RunInfo
from profkit.analysis.compare_stats import MIN_SAMPLES
from profkit.fmt import fmt_change, fmt_level, fmt_p, fmt_seconds, printable


def run_label(info: RunInfo) -> str:
    """What a side is: its run folder, or for a run not saved (``profkit.ab`` without ``out``)
    its target."""
    return info.path or info.target or info.workload or "?"


def time_label(m: ModeChange, program: bool = False) -> str:
    """The time a mode was compared on: wall or cpu, and a program site's own task time "task"."""
    return "task" if program and m.measure == "wall" else m.measure


def format_ratio(m: ModeChange, dash: str = "-", sep: str = "-") -> str:
    """B/A with its interval: '1.300 [1.262-1.339]'."""
    if m.ratio is None:
        return dash
    text = f"{m.ratio:.3f}"
    if m.ratio_ci:
        text += f" [{m.ratio_ci[0]:.3f}{sep}{m.ratio_ci[1]:.3f}]"
    return text


def mann_whitney_cell(m: ModeChange, dash: str = "-") -> str:
    """The supporting U test's p, or why there is none."""
    if m.p_value is not None:
        return fmt_p(m.p_value)
    if m.p_min is not None:
        return f"n/a (min {fmt_p(m.p_min)})"
    return dash


def _sample_size(repeats: tuple[int, int] | None, paired: bool, unit: str = "repeat") -> str:
    """How many timings each interval comes from, as the table's repeats (or tasks) column
    counts them."""
    if repeats is None:
        return f"from each {'site' if unit == 'task' else 'mode'}'s {unit}s (the {unit}s column)"
    n_a, n_b = repeats
    if paired:
        text = f"from {n_a} paired round{'s' if n_a != 1 else ''}"
    elif n_a == n_b:
        text = f"from {n_a} {unit}{'s' if n_a != 1 else ''} a side"
    else:
        text = f"from {n_a} {unit}{'s' if n_a != 1 else ''} of A and {n_b} of B"
    if min(n_a, n_b) < MIN_SAMPLES:
        text += f", too few: an interval needs at least {MIN_SAMPLES} a side"
    return text


def rule_lines(comparison: Comparison, fail_above: float | None = None) -> list[str]:
    """The decision rule in words, as docs/compare.md, the table and ``compare.html`` state it,
    with the comparison's own level, minimum effect, family and repeat counts."""
    level, min_effect_pct, family = comparison.level, comparison.min_effect_pct, comparison.family
    if comparison.program:
        return _program_rule_lines(comparison, fail_above)
    paired = any(m.paired for m in comparison.modes)
    estimate = ("the geometric mean of the per-round ratios B_i / A_i" if paired
                else "the ratio of the geometric means of B's and A's timing repeats")
    interval = ("a Student t interval on the per-round log ratios" if paired
                else "Welch's t interval on the log times")
    mode_level = 1.0 - (1.0 - level) / family
    lines = [
        "The time compared is wall time, or CPU time (parent plus workers) when the repeats' wall / CPU "
        f"ratio moved by {min_effect_pct:g}% or more between the runs or within one (the machine's load "
        "came and went) and CPU time gives the narrower interval.",
        f"B/A is {estimate}; above 1 is slower.",
        f"Its interval is {interval}, {_sample_size(comparison.repeats, paired)}.",
    ]
    if family > 1:
        lines.append(f"{family} modes are judged together, so each gets a {fmt_level(mode_level)} "
                     f"interval: noise alone calls a change in any of them at most "
                     f"{fmt_level(1.0 - level)} of the time (Bonferroni).")
    lines.append(f"A change is called only when the interval excludes 1 and the change is at least "
                 f"{min_effect_pct:g}% (--min-effect).")
    if paired:
        lines.append("A and B ran in the same interleaved rounds, so load that came and went fell on both.")
    else:
        lines.append("The interval covers the repeats' spread within each run, not the difference "
                     "between two whole runs of the same code (which one run of each cannot measure): a "
                     f"change under the minimum effect, {min_effect_pct:g}%, is never called, and a larger "
                     "one assumes runs differ by less than that. profkit ab races both versions in one run "
                     "and needs no such assumption.")
    if fail_above is not None:
        lines.append(f"--fail-above {fail_above:g}: exit 1 when a mode is called slower by more than "
                     f"{fail_above:g}%, or has no timings in B.")
    if not paired:
        lines.append(f"Mann-Whitney U is shown for information only, where the repeats let its p reach "
                     f"{1.0 - level:.2g}; it does not decide.")
    return lines


def _program_rule_lines(comparison: Comparison, fail_above: float | None) -> list[str]:
    """The rule in words for two program runs (``profkit run``), whose modes are pool sites."""
    level, min_effect_pct, family = comparison.level, comparison.min_effect_pct, comparison.family
    lines = [
        "A program run times each pool site once, from its first call to its last result: one "
        "timing a run has no spread to tell a change from noise, so the sites' walls are shown "
        "without a test. The rule compares each site's tasks instead.",
        "The time compared is each task's own time, less its waits for a core, so load from "
        "other programs is taken out (--measure cpu compares CPU time instead).",
        "B/A is the ratio of the geometric means of B's and A's task times; above 1 is slower.",
        f"Its interval is Welch's t interval on the log task times, "
        f"{_sample_size(comparison.repeats, False, 'task')}. A site's tasks are different items: "
        "when both runs map the same items their sizes cancel from B/A, but their spread widens "
        "the interval: noise alone still calls a change no more often than stated, but with uneven "
        "items even a large change may go uncalled.",
    ]
    if family > 1:
        lines.append(f"{family} sites are judged together, so each gets a "
                     f"{fmt_level(comparison.mode_level)} interval: noise alone calls a change in any "
                     f"of them at most {fmt_level(1.0 - level)} of the time (Bonferroni).")
    lines += [
        f"A change is called only when the interval excludes 1 and the change is at least "
        f"{min_effect_pct:g}% (--min-effect).",
        "The interval covers the tasks' spread within each run, not the difference between two "
        f"whole runs (which one run of each cannot measure): a change under {min_effect_pct:g}% is "
        "never called, and a larger one assumes runs differ by less than that. A default profkit "
        "run times its tasks under cProfile, and --timeline-only without it: compare runs made "
        "with the same flags.",
    ]
    if fail_above is not None:
        lines.append(f"--fail-above {fail_above:g}: exit 1 when a site is called slower by more than "
                     f"{fail_above:g}%, or has no tasks in B.")
    lines.append(f"Mann-Whitney U is shown for information only, where the tasks let its p reach "
                 f"{1.0 - level:.2g}; it does not decide.")
    return lines


def coverage_note(coverage: Coverage | None) -> str | None:
    """How the self times were scaled, when a cProfile pass covered less than the whole map."""
    if coverage is None or not coverage.partial:
        return None

    def share(value: float | None) -> str:
        return "an unrecorded share" if value is None else f"{100.0 * value:.3g}%"

    covered = (f"The cProfile pass covered {share(coverage.share_a)} of A's task time and "
               f"{share(coverage.share_b)} of B's")
    if coverage.scaled:
        return f"{covered}: self times are scaled to the whole map; call counts are as profiled."
    return f"{covered}: self times are as profiled, not scaled, so compare them with care."


def format_text(comparison: Comparison, fail_above: float | None = None) -> str:
    """The plain-text tables ``profkit compare`` prints."""
    from profkit.render.console import table

    a, b = comparison.run_a, comparison.run_b
    out = [
        "profkit compare: B against A",
        f"  A: {run_label(a)}  ({a.workload}, {a.started_at or '?'})",
        f"  B: {run_label(b)}  ({b.workload}, {b.started_at or '?'})",
        "",
    ]
    unit = "tasks" if comparison.program else "repeats"
    rows = []
    for m in comparison.modes:
        wa, wb = (str(w) if w is not None else "-" for w in (m.workers_a, m.workers_b))
        workers = wa if wa == wb else f"{wa}->{wb}"  # "-": the mode never started its pool
        rows.append([m.mode, workers, f"{m.repeats_a}/{m.repeats_b}", time_label(m, comparison.program),
                     fmt_seconds(m.mean_a_s),
                     fmt_seconds(m.mean_b_s), fmt_change(m.change_pct, "-"), format_ratio(m),
                     mann_whitney_cell(m), m.verdict])
    level = fmt_level(comparison.mode_level)
    if rows:
        out += [
            "Task time per site (geometric mean of its tasks: B/A is mean B / mean A, above 1 "
            "is slower)" if comparison.program
            else "Time per mode (geometric mean of the repeats: B/A is mean B / mean A, above 1 "
            "is slower)",
            table(["site" if comparison.program else "mode", "workers", unit, "time", "mean A",
                   "mean B", "change", f"B/A [{level} CI]", "U test p", "verdict"], rows),
            "",
            *("  " + line for line in rule_lines(comparison, fail_above)),
        ]
    if comparison.sites:
        srows = [[w.site, w.where_a if w.where_a == w.where_b else f"{w.where_a} -> {w.where_b}",
                  f"{w.tasks_a}/{w.tasks_b}", fmt_seconds(w.wall_a_s), fmt_seconds(w.wall_b_s),
                  fmt_change(w.change_pct, "-")] for w in comparison.sites]
        out += ["", "Wall per site (first call to last result; timed once a run, so no test)",
                table(["site", "where", "tasks", "wall A", "wall B", "change"], srows)]
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
                          fmt_change(c.change_pct, "-"), str(c.ncalls_a), str(c.ncalls_b)])
        out += ["", f"Self time, {mode}: top {len(changes)} changes (one cProfile pass each, no test)"]
        note = coverage_note(comparison.coverage.get(mode))
        if note:
            out.append(f"  {note}")
        out.append(table(["function", "self A", "self B", "delta", "change", "calls A", "calls B"], frows))
    for mode, lines in comparison.lines.items():
        if not lines:
            continue
        lrows = []
        for ln in lines:
            where = f"{ln.function}:{ln.lineno_b if ln.lineno_b is not None else ln.lineno_a}"
            source = ln.source if len(ln.source) <= 48 else ln.source[:47] + "…"
            if ln.status != "changed":
                source += f" [{ln.status}]"
            lrows.append([where, source, f"{ln.share_a_pct:.1f}%", f"{ln.share_b_pct:.1f}%",
                          f"{ln.delta_pts:+.1f}"])
        out += ["", f"Hot lines, {mode}: share of their function's line time that moved most",
                table(["line", "source", "share A", "share B", "moved (pts)"], lrows)]
    only = [f"only in {side}: {', '.join(modes)}"
            for side, modes in (("A", comparison.only_a), ("B", comparison.only_b)) if modes]
    if only:
        out += ["", *only]
    return printable("\n".join(out))
