"""The call tree (icicle) of each mode, built from pstats caller/callee data.

The merged worker profile holds, per function, its callers and the cumulative time
spent in it from each caller: the same edges gprof2dot and snakeviz draw. Each tree
path is expanded from the roots (functions nobody in the profile called: the task),
a child's width is the cumulative time of that caller -> callee edge, and recursion
stops at a function already on the path. Nodes below :data:`PRUNE_SHARE` of the
mode's time are pruned (their time stays in the parent as self time); the report says
how much that was. The result is a compact JSON blob the vendored d3-flame-graph draws.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from profkit.analysis.own_frames import is_own
from profkit.model import JSON
from profkit.render.report.compact import TICK

#: Nodes smaller than this share of the mode's profiled time are pruned: under 2 px on a
#: 1,000 px chart, too thin to see or click.
PRUNE_SHARE = 0.002
#: At most this many nodes per mode, largest first (a guard for deep, wide call graphs).
MAX_NODES = 3000

Func = tuple[str, int, str]
#: pstats' raw entry: (primitive calls, calls, self time, cumulative time, callers).
Entry = tuple[int, int, float, float, Mapping[Func, tuple[Any, ...]]]


@dataclass
class Tree:
    """One mode's tree as plain data and a function table.

    A node is ``[function index, ticks on this path, calls on this path, children?]``.
    """

    root: list[JSON]
    functions: list[list[JSON]]
    nodes: int
    pruned_nodes: int = 0
    pruned_s: float = 0.0
    total_s: float = 0.0
    cut_cycles: int = 0
    index: dict[Func, int] = field(default_factory=dict, repr=False)

    @property
    def pruned_pct(self) -> float:
        return 100.0 * self.pruned_s / self.total_s if self.total_s > 0 else 0.0


def _ticks(seconds: float) -> int:
    return max(0, round(seconds / TICK))


def _callees(stats: Mapping[Func, Entry]) -> dict[Func, list[tuple[Func, int, float]]]:
    """caller -> [(callee, calls on that edge, cumulative seconds on that edge)], largest first."""
    out: dict[Func, list[tuple[Func, int, float]]] = {}
    for callee, (_cc, _nc, _tt, _ct, callers) in stats.items():
        for caller, edge in callers.items():
            # cProfile stores (calls, primitive calls, self, cumulative) per caller edge; very
            # old profiles store a bare call count.
            calls, cum = (int(edge[0]), float(edge[3])) if isinstance(edge, tuple) else (int(edge), 0.0)
            out.setdefault(caller, []).append((callee, calls, cum))
    for edges in out.values():
        edges.sort(key=lambda e: -e[2])
    return out


def build(stats: Mapping[Func, Entry], strings: Callable[[str], int],
          label: str = "all tasks") -> Tree | None:
    """The pruned call tree of one profile; ``strings`` maps a string to its table index."""
    callees = _callees(stats)
    # profkit's own frames are transparent: their callees hang from their parent instead.
    own = {f for f in stats if is_own(f[0], f[2])}

    def visible_children(func: Func, seen: frozenset[Func]) -> list[tuple[Func, int, float]]:
        out: list[tuple[Func, int, float]] = []
        for callee, calls, cum in callees.get(func, []):
            if callee in own and callee not in seen:
                out += visible_children(callee, seen | {callee})
            elif callee not in own:
                out.append((callee, calls, cum))
        return out

    roots: list[tuple[Func, int, float]] = []
    for func, (_cc, nc, _tt, ct, callers) in stats.items():
        if callers:
            continue
        if func in own:
            roots += visible_children(func, frozenset({func}))
        else:
            roots.append((func, nc, ct))
    total = sum(cum for _, _, cum in roots)
    if total <= 0:
        return None
    top: list[JSON] = []  # the root's children
    tree = Tree(root=[0, _ticks(total), 0, top], functions=[], nodes=1, total_s=total)
    tree.functions.append([strings(label), strings(""), 0, 0, 0, _ticks(total)])
    threshold = PRUNE_SHARE * total

    def fid(func: Func) -> int:
        found = tree.index.get(func)
        if found is None:
            cc, nc, tt, ct, _ = stats[func]
            filename, lineno, name = func
            found = tree.index[func] = len(tree.functions)
            tree.functions.append([strings(name), strings(filename), int(lineno), int(nc),
                                   0 if int(cc) == int(nc) else int(cc), _ticks(tt), _ticks(ct)])
        return found

    # Expand the largest nodes first, so the node cap drops the smallest ones.
    counter = 0
    # (-value, tie-break, the node's children, value, path, its edges)
    heap: list[tuple[float, int, list[JSON], float, frozenset[Func], list[tuple[Func, int, float]]]] = []
    heapq.heappush(heap, (-total, counter, top, total, frozenset(), roots))
    while heap:
        _, _, kids, budget, path, edges = heapq.heappop(heap)
        available = sum(cum for _, _, cum in edges)
        scale = min(1.0, budget / available) if available > 0 else 0.0  # edges never exceed the parent
        for callee, calls, cum in edges:
            value = cum * scale
            if callee in path:
                tree.cut_cycles += 1
                continue
            if value < threshold or tree.nodes >= MAX_NODES:
                if value > 0:
                    tree.pruned_nodes += 1
                    tree.pruned_s += value
                continue
            child: list[JSON] = [fid(callee), _ticks(value), calls]
            kids.append(child)
            tree.nodes += 1
            below = visible_children(callee, path | {callee})
            if below:
                grandchildren: list[JSON] = []
                child.append(grandchildren)
                counter += 1
                heapq.heappush(heap, (-value, counter, grandchildren, value, path | {callee}, below))
    _drop_empty(tree.root)
    return tree


def _drop_empty(node: list[JSON]) -> None:
    """Drop the empty children list of every leaf."""
    stack = [node]
    while stack:
        n = stack.pop()
        if len(n) > 3:
            kids = n[3]
            if isinstance(kids, list) and kids:
                stack.extend(k for k in kids if isinstance(k, list))
            else:
                n.pop()


def trees(profiles: Mapping[str, Any], order: list[str],
          strings: Callable[[str], int]) -> list[dict[str, object]]:
    """Per mode with a profile: the tree, its JSON and the pruning figures for the template."""
    from jinja2.utils import htmlsafe_json_dumps
    from markupsafe import Markup

    out: list[dict[str, object]] = []
    for mode in order:
        stats = profiles.get(mode)
        raw = getattr(stats, "stats", stats)
        if not raw:
            continue
        tree = build(raw, strings, label=f"all tasks ({mode})")
        if tree is None:
            continue
        data = {"root": tree.root, "fn": tree.functions}
        out.append({
            "idx": len(out) + 1, "mode": mode, "nodes": tree.nodes, "functions": len(tree.functions) - 1,
            "pruned_nodes": tree.pruned_nodes, "pruned_s": tree.pruned_s, "pruned_pct": tree.pruned_pct,
            "total_s": tree.total_s, "cut_cycles": tree.cut_cycles,
            "in_profile": sum(1 for f in raw if not is_own(f[0], f[2])),
            "json": Markup(htmlsafe_json_dumps(data, separators=(",", ":"))),
        })
    return out


ASSETS = Path(__file__).resolve().parent / "assets"


@lru_cache(maxsize=1)
def script() -> dict[str, object]:
    """The vendored d3-flame-graph bundle plus the report's call-tree code, and its CSP hash."""
    from markupsafe import Markup

    js = ((ASSETS / "d3-flamegraph.bundle.min.js").read_text(encoding="utf-8") + "\n"
          + (ASSETS / "calltree.js").read_text(encoding="utf-8"))
    if re.search(r"</(script|style)", js, re.I):
        raise RuntimeError("call-tree script must not contain a closing script/style tag")
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    return {"js": Markup(js), "hash": f"sha256-{digest}"}
