"""What a mode's line and cProfile passes covered and what they cost, in words, from run.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from profkit.fmt import fmt_seconds

#: Item numbers listed before the rest are counted.
MAX_LISTED = 8


def _listed(indices: list[int]) -> str:
    """'item 5', 'items 0, 3' or 'items 0, 1, ... and 12 more'."""
    shown = ", ".join(str(i) for i in indices[:MAX_LISTED])
    more = f" and {len(indices) - MAX_LISTED} more" if len(indices) > MAX_LISTED else ""
    return f"{'item' if len(indices) == 1 else 'items'} {shown}{more}"


def cut_items(info: Mapping[str, Any], key: str = "line_cut_s") -> dict[int, float]:
    """Items a pass's budget cut short: index -> seconds profiled until the cut."""
    raw = info.get(key) or {}
    return {int(k): float(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def _coverage(items: list[Any], cut: dict[int, float], n_items: int | None, cost: Any,
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
    if isinstance(cost, (int, float)):
        text += f"; the pass took {fmt_seconds(float(cost))}"
    return text


def line_coverage(info: Mapping[str, Any], n_items: int | None) -> str | None:
    """'3 of 6 items traced: items 0, 5 whole, item 3 partial (cut by the budget after 497 ms; ...);
    the pass took 520 ms'.

    None when the mode's metadata does not say (an older run, or no line pass).
    """
    items = info.get("line_items")
    if not isinstance(items, list):
        return None
    cheapest = info.get("line_cheapest_s")
    if not items and isinstance(cheapest, (int, float)) and info.get("line_deferred"):
        return (f"no item traced here: one whole item would take about "
                f"{fmt_seconds(float(cheapest))} under line_profiler, over the line budget, so one "
                "mode traced one for all (pass --line-budget all to trace every mode)")
    if not items and isinstance(cheapest, (int, float)):
        return (f"no item traced: the cheapest would take about {fmt_seconds(float(cheapest))} under "
                "line_profiler, far over the line budget; pass --line-budget with more seconds, or "
                "all, to trace it")
    return _coverage(items, cut_items(info), n_items, (info.get("phase_s") or {}).get("lines"),
                     "traced", "lines")


def profile_coverage(info: Mapping[str, Any], n_items: int | None) -> str | None:
    """The cProfile pass's coverage, as :func:`line_coverage` words it ('... items profiled ...').

    'every item profiled whole (6 of 6)' when it covered them all; None when the metadata
    does not say.
    """
    items = info.get("cprofile_indices")
    if not isinstance(items, list) or not items:
        return None
    cut = cut_items(info, "cprofile_cut_s")
    if not cut and n_items is not None and len(items) >= n_items:
        return f"every item profiled whole ({len(items):,} of {n_items:,})"
    return _coverage(items, cut, n_items, (info.get("phase_s") or {}).get("cprofile"),
                     "profiled", "calls")


def _pass_summary(modes: Mapping[str, Mapping[str, Any]], n_items: int | None, items_key: str,
                  cut_key: str, share_key: str, tool: str, deferred_key: str = "") -> str | None:
    """'line_profiler 1 of 6 items, whole (8% of the task time)' across modes; None when complete."""
    counts: dict[str, tuple[int, int, Any]] = {}
    for mode, info in modes.items():
        items = info.get(items_key)
        if not isinstance(items, list):
            continue
        counts[mode] = (len(items), len(cut_items(info, cut_key)), info.get(share_key))
    if not counts or n_items is None:
        return None
    deferred = [m for m, info in modes.items()
                if deferred_key and m in counts and info.get(deferred_key)]
    traced = {m: c for m, c in counts.items() if m not in deferred}
    if deferred and len(traced) == 1:
        (mode, (n, cut, share)), = traced.items()
        whole = "whole" if not cut else f"{cut} cut short"
        share_text = f", {share:.0%} of the task time" if isinstance(share, (int, float)) else ""
        return (f"{tool} {n} of {n_items} items ({whole}{share_text}) in {mode} only: no whole "
                "item fits the line budget, so one mode traced one for all")
    if all(n >= n_items and cut == 0 for n, cut, _ in counts.values()):
        return None
    distinct = {(n, cut) for n, cut, _ in counts.values()}
    if len(distinct) == 1:
        (n, cut), = distinct
        shares = [s for _, _, s in counts.values() if isinstance(s, (int, float))]
        share = f", {min(shares):.0%} of the task time" if shares and n else ""
        whole = "whole" if not cut else f"{cut} cut short"
        text = f"{tool} {n} of {n_items} items ({whole}{share})" if n else f"{tool} no item"
        return text + (" in every mode" if len(counts) > 1 else "")
    per_mode = ", ".join(f"{mode} none (one whole item is over its budget)" if mode in deferred
                         else f"{mode} {n}" + (f" ({cut} cut short)" if cut else "")
                         for mode, (n, cut, _) in counts.items())
    return f"{tool} items of {n_items}: {per_mode}"


def coverage_summary(modes: Mapping[str, Mapping[str, Any]], n_items: int | None) -> str | None:
    """One line on what the profiles cover when some pass covered less than every item whole.

    'Profiles cover: cProfile every item; line_profiler 1 of 6 items (whole, 8% of the task
    time) in every mode. The report lists the items.' None when every pass covered everything.
    """
    lines = {m: i for m, i in modes.items() if (i.get("phase_s") or {}).get("lines") is not None
             or isinstance(i.get("line_cheapest_s"), (int, float))}
    profile = _pass_summary(modes, n_items, "cprofile_indices", "cprofile_cut_s", "cprofile_share",
                            "cProfile")
    traced = _pass_summary(lines, n_items, "line_items", "line_cut_s", "line_share", "line_profiler",
                           "line_deferred")
    if profile is None and traced is None:
        return None
    parts = [profile or "cProfile every item", *([traced] if traced else [])]
    return f"Profiles cover: {'; '.join(parts)}. The report lists the items."
