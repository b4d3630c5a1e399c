"""What a mode's line and cProfile passes covered and what they cost, in words, from run.json."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from profkit.fmt import fmt_seconds
from profkit.record import ModeMeta

#: Item numbers listed before the rest are counted.
MAX_LISTED = 8


def _listed(indices: list[int]) -> str:
    """'item 5', 'items 0, 3' or 'items 0, 1, ... and 12 more'."""
    shown = ", ".join(str(i) for i in indices[:MAX_LISTED])
    more = f" and {len(indices) - MAX_LISTED} more" if len(indices) > MAX_LISTED else ""
    return f"{'item' if len(indices) == 1 else 'items'} {shown}{more}"


def cut_items(cut_s: Mapping[str, float]) -> dict[int, float]:
    """Items a pass's budget cut short (``line_cut_s``, ``cprofile_cut_s``): index -> seconds
    profiled until the cut."""
    return {int(k): float(v) for k, v in cut_s.items()}


def _coverage(items: list[int], cut: dict[int, float], n_items: int | None, cost: float | None,
              verb: str, counted: str) -> str:
    whole = [int(i) for i in items if int(i) not in cut]
    parts = []
    if whole:
        parts.append(f"{_listed(whole)} whole")
    if len(cut) == 1:
        (index, seconds), = cut.items()
        parts.append(f"item {index} partial (cut by the budget after {fmt_seconds(seconds)}; its "
                     f"{counted} are exact up to the cut)")
    elif cut:
        after = ", ".join(fmt_seconds(s) for _, s in sorted(cut.items()))
        parts.append(f"{_listed(sorted(cut))} partial (cut by the budget after {after}; their "
                     f"{counted} are exact up to the cut)")
    total = n_items if n_items is not None else "?"
    text = (f"{len(items)} of {total} items {verb}: " + ", ".join(parts)) if parts \
        else f"no item {verb}"
    if cost is not None:
        text += f"; the pass took {fmt_seconds(cost)}"
    return text


def line_coverage(info: ModeMeta, n_items: int | None) -> str | None:
    """'3 of 6 items traced: items 0, 5 whole, item 3 partial (cut by the budget after 497 ms; ...);
    the pass took 520 ms'.

    None when the mode's metadata does not say (an older run).
    """
    items = info.line_items
    if items is None:
        return None
    cheapest = info.line_cheapest_s
    if not items and cheapest is not None and info.line_deferred:
        return (f"no item traced here: one whole item would take about "
                f"{fmt_seconds(cheapest)} under line_profiler, over the line budget, so one "
                "mode traced one for all (pass --line-budget all to trace every mode)")
    if not items and cheapest is not None:
        return (f"no item traced: the cheapest would take about {fmt_seconds(cheapest)} under "
                "line_profiler, far over the line budget; pass --line-budget with more seconds, or "
                "all, to trace it")
    return _coverage(items, cut_items(info.line_cut_s), n_items, info.phase_s.get("lines"),
                     "traced", "lines")


def profile_coverage(info: ModeMeta, n_items: int | None) -> str | None:
    """The cProfile pass's coverage, as :func:`line_coverage` words it ('... items profiled ...').

    'every item profiled whole (6 of 6)' when it covered them all; None when the metadata
    does not say.
    """
    items = info.cprofile_indices
    if not items:
        return None
    cut = cut_items(info.cprofile_cut_s)
    if not cut and n_items is not None and len(items) >= n_items:
        return f"every item profiled whole ({len(items):,} of {n_items:,})"
    return _coverage(items, cut, n_items, info.phase_s.get("cprofile"), "profiled", "calls")


class _Pass(NamedTuple):
    """What one profiling pass of a mode covered."""

    items: list[int] | None
    cut_s: dict[str, float]
    share: float | None
    deferred: bool


def _line_pass(info: ModeMeta) -> _Pass:
    return _Pass(info.line_items, info.line_cut_s, info.line_share, bool(info.line_deferred))


def _profile_pass(info: ModeMeta) -> _Pass:
    return _Pass(info.cprofile_indices, info.cprofile_cut_s, info.cprofile_share, False)


def _pass_summary(modes: Mapping[str, ModeMeta], n_items: int | None,
                  of: Callable[[ModeMeta], _Pass], tool: str) -> str | None:
    """'line_profiler 1 of 6 items, whole (8% of the task time)' across modes; None when complete."""
    passes = {mode: p for mode, info in modes.items() if (p := of(info)).items is not None}
    counts = {mode: (len(p.items or ()), len(cut_items(p.cut_s)), p.share)
              for mode, p in passes.items()}
    if not counts or n_items is None:
        return None
    deferred = [m for m, p in passes.items() if p.deferred]
    traced = {m: c for m, c in counts.items() if m not in deferred}
    if deferred and len(traced) == 1:
        (mode, (n, cut, share)), = traced.items()
        whole = "whole" if not cut else f"{cut} cut short"
        share_text = f", {share:.0%} of the task time" if share is not None else ""
        return (f"{tool} {n} of {n_items} items ({whole}{share_text}) in {mode} only: no whole "
                "item fits the line budget, so one mode traced one for all")
    if all(n >= n_items and cut == 0 for n, cut, _ in counts.values()):
        return None
    distinct = {(n, cut) for n, cut, _ in counts.values()}
    if len(distinct) == 1:
        (n, cut), = distinct
        shares = [s for _, _, s in counts.values() if s is not None]
        share_text = f", {min(shares):.0%} of the task time" if shares and n else ""
        whole = "whole" if not cut else f"{cut} cut short"
        if not n:
            return f"{tool} no item" + (" in any mode" if len(counts) > 1 else "")
        text = f"{tool} {n} of {n_items} items ({whole}{share_text})"
        return text + (" in every mode" if len(counts) > 1 else "")
    per_mode = ", ".join(f"{mode} none (one whole item is over its budget)" if mode in deferred
                         else f"{mode} {n}" + (f" ({cut} cut short)" if cut else "")
                         for mode, (n, cut, _) in counts.items())
    return f"{tool} items of {n_items}: {per_mode}"


def coverage_summary(modes: Mapping[str, ModeMeta], n_items: int | None) -> str | None:
    """One line on what the profiles cover when some pass covered less than every item whole.

    'Profiles cover: cProfile every item; line_profiler 1 of 6 items (whole, 8% of the task
    time) in every mode. The report lists the items.' None when every pass covered everything.
    """
    lines = {m: i for m, i in modes.items() if i.phase_s.get("lines") is not None
             or i.line_cheapest_s is not None}
    profile = _pass_summary(modes, n_items, _profile_pass, "cProfile")
    traced = _pass_summary(lines, n_items, _line_pass, "line_profiler")
    if profile is None and traced is None:
        return None
    parts = [profile or "cProfile every item", *([traced] if traced else [])]
    return f"Profiles cover: {'; '.join(parts)}. The report lists the items."
