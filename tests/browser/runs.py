"""Runs built from a real one for the report tests: a huge profile, and hostile text everywhere."""

from __future__ import annotations

import copy
import pstats
import random
from typing import Any

import pandas as pd

from profkit.analysis import analyse
from profkit.analysis.gc import GcFacts
from profkit.analysis.notes import NoteKind, RunNote
from profkit.analysis.verdict import (
    Advice,
    AdviceKind,
    Clause,
    ClauseKind,
    HeadKind,
    Headline,
    Reason,
    ReasonKind,
)
from profkit.frames import COLUMNS
from profkit.model import Status
from profkit.record import Artifacts, WorkloadMeta
from profkit.run import Run

#: Text that must stay text wherever the report shows it.
HOSTILE = [
    "<script>alert(1)</script>",
    "</script><img src=x onerror=alert(1)>",
    "\"'&<b>bold</b>",
    "<svg onload=alert(1)>",
    "{{ 7*7 }}{% raw %}",
    "javascript:alert(1)",
]
SCRIPT, CLOSE_IMG, QUOTES, SVG_ONLOAD, JINJA, JS_URL = HOSTILE


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame[list(COLUMNS[name])].astype({c: t for c, (t, _) in COLUMNS[name].items()})


def _copy(base: Run) -> Run:
    return Run(meta=copy.deepcopy(base.meta), analysis=copy.deepcopy(base.analysis),
               frames={k: v.copy() for k, v in base.frames.items()}, path=base.path)


def big_run(base: Run, n_functions: int = 10_000, n_lines: int = 2_000, seed: int = 1) -> Run:
    """``base`` with a profile of ``n_functions`` functions per mode and ``n_lines`` hot lines."""
    rng = random.Random(seed)
    run = _copy(base)
    modes = [m for m in run.meta.status if run.meta.status[m] == "ok"]
    files = [f"/usr/lib/python3.11/site-packages/package_{i % 40}/sub_{i % 7}/module_{i}.py"
             for i in range(300)]
    rows = []
    for mode in modes:
        for i in range(n_functions):
            filename = files[i % len(files)] if i % 10 else "~"
            self_s = rng.expovariate(1.0) * 10 ** -rng.randint(2, 7)
            ncalls = rng.randint(1, 200_000)
            rows.append({
                "mode": mode, "function": f"{filename}:{i}(function_{i})", "name": f"function_{i}",
                "filename": filename, "lineno": 0 if filename == "~" else i % 900 + 1, "ncalls": ncalls,
                "primitive_calls": ncalls if i % 13 else max(1, ncalls // 2),
                "self_s": self_s, "cumulative_s": self_s * rng.uniform(1, 5), "self_pct": 0.0,
            })
    functions = pd.DataFrame(rows)
    totals = functions.groupby("mode")["self_s"].transform("sum")
    functions["self_pct"] = 100 * functions["self_s"] / totals
    run.frames["functions"] = _typed("functions", functions)

    per_function = 20
    lines = []
    n_funcs = max(1, n_lines // per_function)
    for k in range(n_funcs):
        mode = modes[k % len(modes)]
        times = [rng.expovariate(1.0) * 1e-3 for _ in range(per_function)]
        total = sum(times)
        for j, t in enumerate(times):
            lines.append({
                "mode": mode, "function": f"hot_function_{k}", "filename": f"/nonexistent/pkg/mod_{k}.py",
                "func_lineno": 10, "lineno": 11 + j, "hits": rng.randint(1, 10_000), "time_s": t,
                "pct": 100 * t / total, "source": f"    total += values[{j}] * scale  # step {j}",
            })
    run.frames["lines"] = _typed("lines", pd.DataFrame(lines))
    run.analysis = analyse(run.frames, run.meta)
    run.profiles = {mode: synthetic_stats(n_functions, seed=seed + k) for k, mode in enumerate(modes)}
    return run


def hostile_run(base: Run) -> Run:
    """``base`` with markup and script in every string the report may show."""
    run = _copy(base)
    meta = run.meta
    meta.workload = WorkloadMeta(name=SCRIPT, description=CLOSE_IMG, task=QUOTES, target=SVG_ONLOAD,
                                 n_items=meta.workload.n_items)
    meta.environment["platform"] = CLOSE_IMG
    meta.environment["packages"] = {SCRIPT: CLOSE_IMG}
    meta.options["line_functions"] = [SCRIPT]
    meta.options["scheduler"] = JINJA
    meta.status["processes"] = Status.FAILED
    meta.errors["processes"] = f"processes failed: {CLOSE_IMG}"
    meta.modes["processes"].failed_item = 3
    meta.modes["processes"].traceback = (f"Traceback (most recent call last):\n  {SCRIPT}\n"
                                         f"ValueError: {QUOTES}")
    meta.status[SVG_ONLOAD] = Status.FAILED
    meta.errors[SVG_ONLOAD] = SCRIPT
    meta.interrupted = True
    meta.started_at = SCRIPT
    meta.artifacts = Artifacts(
        report="index.html",
        profiles={"processes": JS_URL, SCRIPT: "profiles/x.prof"},
        lines={"sequential": "../../etc/passwd"},
        frames={"tasks": CLOSE_IMG},
    )

    tasks = run.frames["tasks"]
    tasks["item_repr"] = [f"{SCRIPT}{i}" if i % 2 else f"{CLOSE_IMG}{i}" for i in range(len(tasks))]
    tasks["result_repr"] = QUOTES
    tasks["worker"] = tasks["worker"].astype(str) + SVG_ONLOAD
    bad = (tasks["mode"] == "processes") & (tasks["item"] == 3)
    tasks.loc[bad, "ok"] = False
    tasks.loc[bad, "error"] = f"Traceback:\n  File \"{CLOSE_IMG}\"\nRuntimeError: {SCRIPT}"

    # enough functions per mode that some wait as JSON behind "show all"
    functions = run.frames["functions"]
    functions = pd.concat([functions] * (60 // max(1, functions.groupby("mode").size().min()) + 1),
                          ignore_index=True)
    functions["name"] = [f"{SCRIPT}_{i}" if i % 2 else f"{CLOSE_IMG}_{i}" for i in range(len(functions))]
    functions["function"] = CLOSE_IMG
    functions.loc[functions["filename"] != "~", "filename"] = f"/tmp/{CLOSE_IMG}/x.py"
    run.frames["functions"] = functions

    lines = run.frames["lines"]
    lines["function"] = SCRIPT
    lines["filename"] = f"/nonexistent/{QUOTES}.py"
    lines["source"] = [f"    x = '{CLOSE_IMG}'  # {SCRIPT}" for _ in range(len(lines))]

    run.analysis = analyse(run.frames, meta)
    # hostile text in the facts' strings, which the report words (the mode names)
    a = run.analysis
    a.advice.append(Advice(AdviceKind.GC, mode=SCRIPT, gc=GcFacts(
        f"Advice {SCRIPT}", 0.5, 3, 1.0, None, None, gc_off=True)))
    a.warnings.append(RunNote(NoteKind.ABOVE_IDEAL, mode=f"Warning {CLOSE_IMG}", speedup=2.5,
                              ci=[1.5, 3.5], workers=2))
    a.verdict = Headline(reference=SVG_ONLOAD, clauses=[
        Clause(ClauseKind.FAILED, mode=f"Verdict {SCRIPT} {CLOSE_IMG}", workers=2)],
        head=HeadKind.STAY, mode=JINJA)
    if a.recommendation:
        a.recommendation.reason = Reason(ReasonKind.NEAR_FASTEST, reference=QUOTES, best=JINJA,
                                         best_speedup=2.0)
    return run


def synthetic_stats(n_functions: int = 10_000, seed: int = 3) -> pstats.Stats:
    """A cProfile profile of ``n_functions`` in a call graph: a tree with some shared callees.

    Self times are Zipf-like; each function's cumulative time is its self time plus its
    callees' share, so the caller edges add up the way cProfile's do.
    """
    rng = random.Random(seed)
    funcs = [(f"/srv/app/pkg_{i % 40}/module_{i % 500}.py", 10 + i % 900, f"handle_{i}")
             for i in range(n_functions)]
    funcs[0] = ("/srv/app/main.py", 1, "task")
    parents: list[list[int]] = [[] for _ in range(n_functions)]
    for i in range(1, n_functions):
        parents[i].append(rng.randrange(max(0, i - 50), i) if i > 50 else rng.randrange(0, i))
        if i % 10 == 0 and i > 2:
            other = rng.randrange(0, i)
            if other not in parents[i]:
                parents[i].append(other)
    self_s = [0.5 / (i + 1) ** 1.05 for i in range(n_functions)]
    calls = [rng.randint(1, 50_000) for _ in range(n_functions)]
    cum = list(self_s)
    for i in range(n_functions - 1, 0, -1):  # children have larger indexes: sum bottom-up
        for p in parents[i]:
            cum[p] += cum[i] / len(parents[i])
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = {}
    for i, func in enumerate(funcs):
        share = len(parents[i]) or 1
        callers = {funcs[p]: (calls[i] // share, calls[i] // share, self_s[i] / share, cum[i] / share)
                   for p in parents[i]}
        raw[func] = (calls[i], calls[i], self_s[i], cum[i], callers)
    stats = pstats.Stats()
    stats.stats = raw  # type: ignore[attr-defined]
    return stats
