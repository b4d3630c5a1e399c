"""Where the time moved between two profiles: hot lines and a differential call tree.

Pure functions of frames and pstats objects:

* :func:`compare_lines` -- per mode, the lines whose share of their function's
  line time moved most (line_profiler's pass samples items, so shares compare
  better than seconds);
* :func:`call_tree` -- a pstats call graph unrolled into a tree of call paths;
* :func:`diff_trees` -- two such trees merged path by path, for the
  differential icicle in ``compare.html``.

pstats keeps caller -> callee edges, not whole stacks, so a function reached
along several paths has its time split among them in proportion to the edge
times (as gprof2dot and snakeviz do). Recursion is cut where a function
reappears on its own path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pstats

    import pandas as pd

DEFAULT_TOP_LINES = 10
#: Lines whose share moved less than this (percentage points) are not listed.
MIN_MOVE_PTS = 0.05
#: Paths under this share of the total are left out of the tree (they would be invisible).
MIN_SHARE = 0.002
MAX_DEPTH = 40
MAX_NODES = 2_000

FuncKey = tuple[str, int, str]


# -- hot lines --------------------------------------------------------------------


@dataclass
class LineChange:
    """One source line's share of its function's line time, in A and in B (percent)."""

    mode: str
    function: str
    source: str
    lineno_a: int | None
    lineno_b: int | None
    filename: str
    time_a_s: float
    time_b_s: float
    share_a_pct: float
    share_b_pct: float
    delta_pts: float
    status: str  # "changed", "new" (only in B) or "gone" (only in A)


def _line_table(lines: pd.DataFrame, mode: str) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Lines of one mode keyed by (function, stripped source, occurrence): robust to moved lines."""
    rows = lines[lines["mode"] == mode]
    out: dict[tuple[str, str, int], dict[str, Any]] = {}
    totals: dict[tuple[str, str], float] = {}
    for r in rows.to_dict("records"):
        fkey = (str(r["filename"]), str(r["function"]))
        totals[fkey] = totals.get(fkey, 0.0) + float(r["time_s"])
    seen: dict[tuple[str, str, str], int] = {}
    for r in sorted(rows.to_dict("records"), key=lambda r: (str(r["filename"]), int(r["lineno"]))):
        fkey = (str(r["filename"]), str(r["function"]))
        source = str(r["source"]).strip()
        n = seen.get((*fkey, source), 0)
        seen[(*fkey, source)] = n + 1
        total = totals[fkey]
        key = (str(r["function"]), source, n)
        entry = out.setdefault(key, {"time_s": 0.0, "share": 0.0, "lineno": int(r["lineno"]),
                                     "filename": str(r["filename"])})
        entry["time_s"] += float(r["time_s"])
        entry["share"] += 100.0 * float(r["time_s"]) / total if total > 0 else 0.0
    return out


def compare_lines(lines_a: pd.DataFrame, lines_b: pd.DataFrame,
                  top: int = DEFAULT_TOP_LINES) -> dict[str, list[LineChange]]:
    """Per mode in both runs: the ``top`` lines by how far their share moved (in points).

    Lines are matched by function name and source text (the n-th identical
    line of a function matches the n-th), so an edit that shifts line numbers,
    or another file holding the new version, still lines up.
    """
    out: dict[str, list[LineChange]] = {}
    modes_b = set(lines_b["mode"].tolist())
    for mode in dict.fromkeys(lines_a["mode"].tolist()):
        if mode not in modes_b:
            continue
        ta, tb = _line_table(lines_a, mode), _line_table(lines_b, mode)
        rows: list[LineChange] = []
        for key in list(ta) + [k for k in tb if k not in ta]:
            ea, eb = ta.get(key), tb.get(key)
            status = "changed" if ea and eb else "gone" if ea else "new"
            share_a = ea["share"] if ea else 0.0
            share_b = eb["share"] if eb else 0.0
            rows.append(LineChange(
                mode=mode, function=key[0], source=key[1],
                lineno_a=ea["lineno"] if ea else None, lineno_b=eb["lineno"] if eb else None,
                filename=(eb or ea or {}).get("filename", ""),
                time_a_s=ea["time_s"] if ea else 0.0, time_b_s=eb["time_s"] if eb else 0.0,
                share_a_pct=share_a, share_b_pct=share_b, delta_pts=share_b - share_a, status=status,
            ))
        rows.sort(key=lambda c: (-abs(c.delta_pts), -abs(c.time_b_s - c.time_a_s), c.function))
        out[mode] = [r for r in rows if abs(r.delta_pts) >= MIN_MOVE_PTS or r.status != "changed"][:top]
    return out


# -- call trees -------------------------------------------------------------------


@dataclass
class TreeNode:
    """One call path: the function at its end, its time on this path (total and self)."""

    key: FuncKey
    total_s: float
    self_s: float
    children: dict[FuncKey, TreeNode] = field(default_factory=dict)


def _graph(stats: pstats.Stats, factor: float) -> tuple[dict[FuncKey, tuple[float, float]],
                                               dict[FuncKey, list[tuple[FuncKey, float]]]]:
    """pstats -> (func -> (self, cumulative), caller -> [(callee, edge cumulative)]), in
    seconds times ``factor``."""
    raw: Mapping[FuncKey, tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    times: dict[FuncKey, tuple[float, float]] = {}
    children: dict[FuncKey, list[tuple[FuncKey, float]]] = {}
    for func, (_cc, _nc, tt, ct, callers) in raw.items():
        times[func] = (float(tt) * factor, float(ct) * factor)
        for caller, edge in callers.items():
            edge_ct = float(edge[3]) * factor if isinstance(edge, tuple) else 0.0
            children.setdefault(caller, []).append((func, edge_ct))
    return times, children


def call_tree(stats: pstats.Stats, factor: float = 1.0) -> TreeNode:
    """The call paths of a pstats profile under one synthetic root (key ``("", 0, "all")``),
    every time multiplied by ``factor``."""
    times, children = _graph(stats, factor)
    called = {callee for caller, kids in children.items() for callee, _ in kids if callee != caller}
    roots = [f for f in times if f not in called]
    total = sum(times[f][1] for f in roots) or sum(t for t, _ in times.values())
    root = TreeNode(key=("", 0, "all"), total_s=total, self_s=0.0)
    budget = [MAX_NODES]

    def grow(parent: TreeNode, func: FuncKey, path_s: float, path: frozenset[FuncKey], depth: int) -> None:
        if path_s < MIN_SHARE * total or budget[0] <= 0 or depth > MAX_DEPTH:
            return
        budget[0] -= 1
        self_s, cum_s = times.get(func, (0.0, 0.0))
        scale = path_s / cum_s if cum_s > 0 else 0.0
        node = parent.children.get(func)
        if node is None:
            node = parent.children[func] = TreeNode(key=func, total_s=0.0, self_s=0.0)
        node.total_s += path_s
        node.self_s += self_s * scale
        for callee, edge_s in sorted(children.get(func, []), key=lambda e: -e[1]):
            if callee not in path:
                grow(node, callee, edge_s * scale, path | {callee}, depth + 1)

    for func in sorted(roots, key=lambda f: -times[f][1]):
        grow(root, func, times[func][1], frozenset({func}), 1)
    return root


@dataclass
class DiffNode:
    """One call path in both profiles: times in A and B (0 where the path is missing)."""

    function: str
    name: str
    filename: str
    lineno: int
    total_a_s: float
    total_b_s: float
    self_a_s: float
    self_b_s: float
    children: list[DiffNode] = field(default_factory=list)

    @property
    def self_delta_s(self) -> float:
        return self.self_b_s - self.self_a_s


def _label(key: FuncKey) -> str:
    filename, lineno, name = key
    return name if filename in ("~", "") else f"{filename}:{lineno}({name})"


def diff_trees(a: TreeNode | None, b: TreeNode | None) -> DiffNode:
    """Merge two call trees path by path; a path in one tree only counts zero in the other."""
    node = a or b
    assert node is not None
    filename, lineno, name = node.key
    kids_a = a.children if a else {}
    kids_b = b.children if b else {}
    out = DiffNode(function=_label(node.key), name=name, filename=filename, lineno=lineno,
                   total_a_s=a.total_s if a else 0.0, total_b_s=b.total_s if b else 0.0,
                   self_a_s=a.self_s if a else 0.0, self_b_s=b.self_s if b else 0.0)
    keys = list(kids_a) + [k for k in kids_b if k not in kids_a]
    out.children = [diff_trees(kids_a.get(k), kids_b.get(k)) for k in keys]
    out.children.sort(key=lambda c: -(c.total_a_s + c.total_b_s))
    return out


def compare_call_trees(profiles_a: Mapping[str, pstats.Stats | None],
                       profiles_b: Mapping[str, pstats.Stats | None],
                       factors: Mapping[str, tuple[float, float]] | None = None) -> dict[str, DiffNode]:
    """Per mode with cProfile stats in both runs: the merged call tree, A's and B's times
    multiplied by the mode's ``factors`` (to scale passes of unequal coverage to the whole map)."""
    out = {}
    for mode, stats in profiles_a.items():
        if stats is None or profiles_b.get(mode) is None:
            continue
        factor_a, factor_b = (factors or {}).get(mode, (1.0, 1.0))
        other = profiles_b[mode]
        assert other is not None
        out[mode] = diff_trees(call_tree(stats, factor_a), call_tree(other, factor_b))
    return out
