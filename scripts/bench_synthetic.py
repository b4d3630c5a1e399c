"""Synthetic frames and profiles for scripts/bench.py's rendering figure: a big app's run.

The frames take their columns and dtypes from ``profkit.frames.COLUMNS``, so they follow the schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def synthetic_functions(modes: Sequence[str], n: int) -> Any:
    """A big app's profile: ``n`` functions in 500 files, Zipf-like self times, in each mode."""
    import numpy as np
    import pandas as pd

    from profkit.frames import COLUMNS, function_label

    rng = np.random.default_rng(7)
    idx = np.arange(n)
    filenames = [f"/srv/app/src/app/pkg{i % 40:02d}/module_{i % 500:03d}.py" for i in idx]
    names = [f"handle_{i % 97}_{i}" if i % 5 else f"Model{i % 61}.method_{i}" for i in idx]
    linenos = (10 + (idx * 37) % 1900).astype("int64")
    frames = []
    for m, mode in enumerate(modes):
        self_s = 2.0 / (idx + 1.0) ** 1.1 * rng.uniform(0.8, 1.2, n) * (1 + 0.1 * m)
        ncalls = rng.integers(1, 100_000, n)
        primitive = np.where(idx % 17 == 0, np.maximum(1, ncalls // 3), ncalls)
        total = float(self_s.sum())
        frames.append(pd.DataFrame({
            "mode": mode,
            "function": [function_label(f, int(ln), nm) for f, ln, nm in zip(filenames, linenos, names,
                                                                            strict=True)],
            "name": names, "filename": filenames, "lineno": linenos, "ncalls": ncalls,
            "primitive_calls": primitive, "self_s": self_s,
            "cumulative_s": self_s * rng.uniform(1.0, 20.0, n), "self_pct": 100.0 * self_s / total,
        }))
    frame = pd.concat(frames, ignore_index=True)
    return frame.astype({col: dtype for col, (dtype, _) in COLUMNS["functions"].items()})[
        list(COLUMNS["functions"])]


def synthetic_profile(n: int, seed: int = 0) -> Any:
    """A pstats profile of ``n`` functions in a call graph (a tree plus some shared callees)."""
    import pstats
    import random

    rng = random.Random(seed)
    funcs = [(f"/srv/app/src/app/pkg{i % 40:02d}/module_{i % 500:03d}.py", 10 + (i * 37) % 1900,
              f"handle_{i % 97}_{i}") for i in range(n)]
    parents: list[list[int]] = [[]] + [[rng.randrange(max(0, i - 50), i)] for i in range(1, n)]
    for i in range(10, n, 10):
        other = rng.randrange(0, i)
        if other not in parents[i]:
            parents[i].append(other)
    self_s = [0.5 / (i + 1) ** 1.05 for i in range(n)]
    calls = [rng.randint(1, 50_000) for _ in range(n)]
    cum = list(self_s)
    for i in range(n - 1, 0, -1):
        for p in parents[i]:
            cum[p] += cum[i] / len(parents[i])
    raw = {}
    for i, func in enumerate(funcs):
        share = len(parents[i]) or 1
        raw[func] = (calls[i], calls[i], self_s[i], cum[i],
                     {funcs[p]: (calls[i] // share, calls[i] // share, self_s[i] / share, cum[i] / share)
                      for p in parents[i]})
    stats = pstats.Stats()
    stats.stats = raw  # type: ignore[attr-defined]
    return stats


def synthetic_lines(modes: Sequence[str], n: int, per_function: int = 20) -> Any:
    """``n`` hot lines: functions of ``per_function`` lines each, with plausible source, in each mode."""
    import numpy as np
    import pandas as pd

    from profkit.frames import COLUMNS

    rng = np.random.default_rng(11)
    templates = [
        "    for item in items[{k}:]:",
        "        total += weights[{k}] * compute_{k}(item, scale={k})",
        "        if total > LIMIT_{k} and not seen.get(item):",
        "            results.append((item, total / {k}))  # keep it",
        '        log.debug("step %d: %r", {k}, item)',
        "    return sorted(results, key=lambda r: -r[1])[:{k}]",
    ]
    rows = []
    for m, mode in enumerate(modes):
        for f in range(-(-n // per_function)):
            func_lineno = 20 + (f * 53) % 1500
            times = rng.exponential(0.01, per_function) * (1 + 0.1 * m)
            total = float(times.sum())
            for j in range(per_function):
                if len(rows) >= n * (m + 1):
                    break
                rows.append({
                    "mode": mode, "function": f"hot_function_{f}",
                    "filename": f"/srv/app/src/app/pkg{f % 40:02d}/module_{f % 500:03d}.py",
                    "func_lineno": func_lineno, "lineno": func_lineno + 1 + j,
                    "hits": int(rng.integers(1, 1_000_000)), "time_s": float(times[j]),
                    "pct": 100.0 * float(times[j]) / total,
                    "source": templates[j % len(templates)].format(k=j + 1),
                })
    frame = pd.DataFrame(rows, columns=list(COLUMNS["lines"]))
    return frame.astype({col: dtype for col, (dtype, _) in COLUMNS["lines"].items()})
