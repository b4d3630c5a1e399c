"""Compare two runs: wall-time change per mode with a significance test, self-time change per function.

Pure functions from frames to small dataclasses, as the rest of :mod:`profkit.analysis`:

* :func:`mann_whitney_u` -- the two-sided Mann-Whitney U test, exact for small
  samples without ties (the usual case for 5 vs 5 repeats), normal
  approximation with tie and continuity correction otherwise. asv uses the
  same test to decide whether a benchmark changed.
* :func:`compare_timings` -- per mode: medians, change in %, the bootstrap 95%
  interval of median(B) / median(A), the p-value and a verdict.
* :func:`compare_functions` -- per mode: the functions whose self time changed
  most (cProfile's ``tottime``, one profiled pass, so no test).
* :func:`compare_runs` -- both, plus warnings about what makes the two runs
  hard to compare (another workload, another machine, too few repeats).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from profkit.analysis import stats

if TYPE_CHECKING:
    import pandas as pd

    from profkit.store import Run

DEFAULT_ALPHA = 0.05
DEFAULT_TOP = 10
#: Exact p-values while n_a * n_b stays below this (the count polynomial has n_a * n_b + 1 terms).
EXACT_LIMIT = 10_000

SLOWER = "slower"
FASTER = "faster"
SAME = "no significant change"
MISSING = "no timings"


# -- Mann-Whitney U ---------------------------------------------------------


@dataclass(frozen=True)
class MannWhitney:
    """Result of a two-sided Mann-Whitney U test of sample ``a`` against sample ``b``.

    ``u`` is U of ``a`` (the number of pairs with a > b, ties counting one half),
    ``p`` the two-sided p-value and ``method`` "exact" or "normal".
    """

    u: float
    p: float
    method: str


@lru_cache(maxsize=256)
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many of the C(m+n, m) orderings give U = 0, 1, ..., m*n.

    These are the coefficients of the Gaussian binomial [m+n choose m]_q, built
    up as [n+i choose i]_q = [n+i-1 choose i-1]_q * (1 - q^(n+i)) / (1 - q^i),
    which keeps every intermediate an integer polynomial.
    """
    if m > n:
        return _u_counts(n, m)
    coeffs = [1]
    for i in range(1, m + 1):
        k = n + i
        grown = coeffs + [0] * k
        for d in range(len(grown) - 1, k - 1, -1):  # multiply by (1 - q^k)
            grown[d] -= grown[d - k]
        for d in range(i, len(grown)):  # divide by (1 - q^i)
            grown[d] += grown[d - i]
        coeffs = grown[: i * n + 1]
    return tuple(coeffs)


def exact_p_value(u: float, m: int, n: int) -> float:
    """Two-sided exact p-value of U = ``u`` for samples of sizes m and n without ties."""
    counts = _u_counts(m, n)
    total = math.comb(m + n, m)
    k = int(round(u))
    low = sum(counts[: k + 1])  # P(U <= u) * total
    high = sum(counts[k:])  # P(U >= u) * total
    return min(1.0, 2.0 * min(low, high) / total)


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Mid-ranks (1-based) of ``values`` and the sizes of the groups of ties."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney_u(a: Sequence[float], b: Sequence[float], method: str = "auto") -> MannWhitney:
    """Two-sided Mann-Whitney U test: do ``a`` and ``b`` come from one distribution?

    ``method`` is "auto" (exact without ties and for small samples, else
    normal), "exact" or "normal". The normal approximation uses the tie
    correction and a continuity correction, as scipy.stats.mannwhitneyu does.
    """
    if method not in ("auto", "exact", "normal"):
        raise ValueError(f"method must be auto, exact or normal, got {method!r}")
    xs = [float(v) for v in a if v == v]
    ys = [float(v) for v in b if v == v]
    m, n = len(xs), len(ys)
    if m == 0 or n == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = _ranks(xs + ys)
    u = sum(ranks[:m]) - m * (m + 1) / 2.0
    if method == "auto":
        method = "exact" if not ties and m * n <= EXACT_LIMIT else "normal"
    if method == "exact":
        if ties:
            raise ValueError("the exact test needs samples without ties; use method='normal'")
        return MannWhitney(u=u, p=exact_p_value(u, m, n), method="exact")
    total = m + n
    mean = m * n / 2.0
    tie_term = sum(t**3 - t for t in ties) / (total * (total - 1)) if total > 1 else 0.0
    variance = m * n / 12.0 * ((total + 1) - tie_term)
    if variance <= 0:  # every value equal
        return MannWhitney(u=u, p=1.0, method="normal")
    z = (abs(u - mean) - 0.5) / math.sqrt(variance)
    p = math.erfc(max(z, 0.0) / math.sqrt(2.0))  # 2 * upper tail of N(0, 1)
    return MannWhitney(u=u, p=min(1.0, p), method="normal")


def smallest_p_value(m: int, n: int) -> float:
    """The smallest two-sided p the exact test can give for sizes m and n: 2 / C(m+n, m)."""
    return min(1.0, 2.0 / math.comb(m + n, m))


# -- comparisons ------------------------------------------------------------


@dataclass
class ModeChange:
    """How one mode's wall time moved from run A to run B (B / A: above 1 is slower)."""

    mode: str
    workers_a: int | None
    workers_b: int | None
    repeats_a: int
    repeats_b: int
    median_a_s: float | None
    median_b_s: float | None
    ratio: float | None = None
    change_pct: float | None = None
    ratio_ci: list[float] | None = None
    p_value: float | None = None
    test: str | None = None
    significant: bool = False
    verdict: str = MISSING


@dataclass
class FunctionChange:
    """How one function's self time (summed over workers) moved from A to B in one mode."""

    mode: str
    function: str
    name: str
    filename: str
    lineno: int
    self_a_s: float
    self_b_s: float
    delta_s: float
    change_pct: float | None
    ncalls_a: int
    ncalls_b: int
    status: str  # "changed", "new" (only in B) or "gone" (only in A)


@dataclass
class Comparison:
    """Everything ``profkit compare`` prints and renders."""

    run_a: dict[str, Any]
    run_b: dict[str, Any]
    alpha: float
    modes: list[ModeChange] = field(default_factory=list)
    functions: dict[str, list[FunctionChange]] = field(default_factory=dict)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def slower_than(self, pct: float) -> list[ModeChange]:
        """Modes that got significantly slower by more than ``pct`` percent."""
        return [m for m in self.modes if m.significant and m.change_pct is not None
                and m.change_pct > pct]

    def lost_in_b(self) -> list[ModeChange]:
        """Modes timed in A that have no timings in B (B's mode failed or was interrupted)."""
        return [m for m in self.modes if m.repeats_a and not m.repeats_b]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _walls(timings: pd.DataFrame, mode: str) -> tuple[list[float], int | None]:
    """The main run's map repeats of ``mode`` (no sweep points, no start-up) and its workers."""
    main = timings[(timings["mode"] == mode) & (~timings["sweep"].astype(bool))]
    maps = main[main["phase"] == "map"]
    walls = [float(v) for v in maps["wall_s"].tolist() if v == v]
    workers = int(main["workers"].iloc[0]) if len(main) else None
    return walls, workers


def _modes_in(timings: pd.DataFrame) -> list[str]:
    main = timings[~timings["sweep"].astype(bool)]
    return list(dict.fromkeys(main["mode"].tolist()))


def compare_mode(mode: str, walls_a: Sequence[float], walls_b: Sequence[float], *,
                 workers_a: int | None = None, workers_b: int | None = None,
                 alpha: float = DEFAULT_ALPHA) -> ModeChange:
    """Medians, B / A with its bootstrap interval, the U test and a verdict for one mode."""
    median_a = stats.summarise(walls_a)["median"]
    median_b = stats.summarise(walls_b)["median"]
    change = ModeChange(mode=mode, workers_a=workers_a, workers_b=workers_b,
                        repeats_a=len(walls_a), repeats_b=len(walls_b),
                        median_a_s=median_a, median_b_s=median_b)
    if not walls_a or not walls_b or not median_a:
        return change
    change.ratio = median_b / median_a
    change.change_pct = 100.0 * (change.ratio - 1.0)
    ci = stats.bootstrap_ratio_ci(walls_b, walls_a)
    change.ratio_ci = list(ci) if ci else None
    result = mann_whitney_u(walls_b, walls_a)
    change.p_value, change.test = result.p, result.method
    change.significant = result.p < alpha
    if not change.significant or change.ratio == 1.0:
        change.verdict = SAME
    else:
        change.verdict = SLOWER if change.ratio > 1.0 else FASTER
    return change


def compare_timings(timings_a: pd.DataFrame, timings_b: pd.DataFrame,
                    alpha: float = DEFAULT_ALPHA) -> list[ModeChange]:
    """One :class:`ModeChange` per mode present in both runs, in run A's order."""
    modes_b = set(_modes_in(timings_b))
    out = []
    for mode in _modes_in(timings_a):
        if mode not in modes_b:
            continue
        walls_a, workers_a = _walls(timings_a, mode)
        walls_b, workers_b = _walls(timings_b, mode)
        out.append(compare_mode(mode, walls_a, walls_b, workers_a=workers_a, workers_b=workers_b,
                                alpha=alpha))
    return out


def compare_functions(functions_a: pd.DataFrame, functions_b: pd.DataFrame,
                      top: int = DEFAULT_TOP) -> dict[str, list[FunctionChange]]:
    """Per mode in both runs: the ``top`` functions by absolute change in self time.

    Functions are matched by their pstats label ``file:line(name)``; one seen in
    one run only counts as zero in the other ("new" or "gone").
    """
    import pandas as pd

    keep = ["function", "name", "filename", "lineno", "ncalls", "self_s"]
    agg = {"name": "first", "filename": "first", "lineno": "first", "ncalls": "sum", "self_s": "sum"}
    out: dict[str, list[FunctionChange]] = {}
    modes_b = set(functions_b["mode"].tolist())
    for mode in dict.fromkeys(functions_a["mode"].tolist()):
        if mode not in modes_b:
            continue
        fa = functions_a.loc[functions_a["mode"] == mode, keep]
        fb = functions_b.loc[functions_b["mode"] == mode, keep]
        fa = fa.groupby("function", as_index=False).agg(agg)
        fb = fb.groupby("function", as_index=False).agg(agg)
        merged = pd.merge(fa, fb, on="function", how="outer", suffixes=("_a", "_b"), indicator=True)
        rows: list[FunctionChange] = []
        for d in merged.to_dict("records"):
            status = {"both": "changed", "left_only": "gone", "right_only": "new"}[str(d["_merge"])]
            side = "b" if status == "new" else "a"
            self_a = 0.0 if pd.isna(d["self_s_a"]) else float(d["self_s_a"])
            self_b = 0.0 if pd.isna(d["self_s_b"]) else float(d["self_s_b"])
            rows.append(FunctionChange(
                mode=mode, function=str(d["function"]), name=str(d[f"name_{side}"]),
                filename=str(d[f"filename_{side}"]), lineno=int(d[f"lineno_{side}"]),
                self_a_s=self_a, self_b_s=self_b, delta_s=self_b - self_a,
                change_pct=100.0 * (self_b - self_a) / self_a if self_a > 0 else None,
                ncalls_a=0 if pd.isna(d["ncalls_a"]) else int(d["ncalls_a"]),
                ncalls_b=0 if pd.isna(d["ncalls_b"]) else int(d["ncalls_b"]),
                status=status,
            ))
        rows.sort(key=lambda c: (-abs(c.delta_s), c.function))
        out[mode] = rows[:top]
    return out


def _describe(run: Run) -> dict[str, Any]:
    meta = run.meta
    env = meta.get("environment", {})
    return {
        "path": str(run.path) if run.path else None,
        "workload": meta.get("workload", {}).get("name"),
        "target": meta.get("workload", {}).get("target"),
        "started_at": meta.get("started_at"),
        "python": env.get("python"),
        "platform": env.get("platform"),
        "cpus": env.get("cpus_available"),
        "start_method": meta.get("options", {}).get("start_method"),
        "repeat": meta.get("options", {}).get("repeat"),
        "status": dict(meta.get("status", {})),
    }


def _warnings(a: dict[str, Any], b: dict[str, Any], modes: list[ModeChange], alpha: float) -> list[str]:
    out = []
    if a["workload"] != b["workload"]:
        out.append(f"the runs are of different workloads ({a['workload']} vs {b['workload']}): "
                   "compare with care")
    for key, what in (("python", "Python"), ("platform", "platform"), ("cpus", "CPU count"),
                      ("start_method", "start method")):
        if a.get(key) != b.get(key):
            out.append(f"{what} differs: {a.get(key)} in A, {b.get(key)} in B")
    for m in modes:
        if m.workers_a is not None and m.workers_b is not None and m.workers_a != m.workers_b:
            out.append(f"{m.mode}: {m.workers_a} worker(s) in A, {m.workers_b} in B")
        status = {side: run["status"].get(m.mode, "ok") for side, run in (("A", a), ("B", b))}
        if m.verdict == MISSING:
            side = "A" if not m.repeats_a else "B"
            out.append(f"{m.mode}: no timings in run {side} (status {status[side]}): not compared")
        elif any(s != "ok" for s in status.values()):
            bad = ", ".join(f"{s} in {side}" for side, s in status.items() if s != "ok")
            out.append(f"{m.mode}: the mode {bad}: its timings may be partial")
        elif smallest_p_value(m.repeats_a, m.repeats_b) >= alpha:
            out.append(f"{m.mode}: {m.repeats_a} vs {m.repeats_b} repeats can never reach p < {alpha:g} "
                       f"(smallest p is {smallest_p_value(m.repeats_a, m.repeats_b):.3g}): "
                       "profile with --repeat 5 or more")
    return out


def compare_runs(run_a: Run, run_b: Run, *, alpha: float = DEFAULT_ALPHA,
                 top: int = DEFAULT_TOP) -> Comparison:
    """Compare two loaded runs: B against A."""
    a, b = _describe(run_a), _describe(run_b)
    modes = compare_timings(run_a.frames["timings"], run_b.frames["timings"], alpha)
    in_a, in_b = _modes_in(run_a.frames["timings"]), _modes_in(run_b.frames["timings"])
    comparison = Comparison(
        run_a=a, run_b=b, alpha=alpha, modes=modes,
        functions=compare_functions(run_a.frames["functions"], run_b.frames["functions"], top),
        only_a=[m for m in in_a if m not in in_b],
        only_b=[m for m in in_b if m not in in_a],
    )
    comparison.warnings = _warnings(a, b, modes, alpha)
    if not modes:
        comparison.warnings.insert(0, "the runs have no mode in common: nothing to compare")
    return comparison


def format_change(value: float | None, missing: str = "-") -> str:
    """A percentage change with its sign, or ``missing``."""
    return missing if value is None else f"{value:+.1f}%"


def format_p(value: float | None, missing: str = "-") -> str:
    """A p-value short enough for a table cell, or ``missing``."""
    if value is None:
        return missing
    return f"{value:.2g}" if value < 0.001 else f"{value:.4f}".rstrip("0").rstrip(".")
