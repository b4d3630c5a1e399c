"""The statistics of scripts/bench.py, on pyperf: each timing series is a pyperf Benchmark.

Medians and quartiles of the timing series come from pyperf, and the bench saves every
series as one pyperf BenchmarkSuite beside its own JSON, so two bench runs compare with
pyperf's own tool::

    python -m pyperf compare_to old.pyperf.json new.pyperf.json --table
    python -m pyperf stats new.pyperf.json
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pyperf


def positive(values: Iterable[float | None]) -> list[float]:
    """The values pyperf can hold: numbers above zero (None and non-positive ones dropped)."""
    return [float(v) for v in values if isinstance(v, (int, float)) and v > 0]


def series(name: str, values: Iterable[float | None], unit: str = "second",
           metadata: Mapping[str, str | int | float] | None = None) -> pyperf.Benchmark | None:
    """One pyperf Benchmark of ``values`` (one run, loops=1), or None if nothing is above zero."""
    kept = positive(values)
    if not kept:
        return None
    meta = {"name": name, "unit": unit, "loops": 1, **(metadata or {})}
    return pyperf.Benchmark([pyperf.Run(kept, metadata=meta, collect_metadata=False)])


def median(values: Sequence[float | None]) -> float | None:
    """The median: pyperf's for a series of timings, the plain one when a value is zero or negative."""
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return None
    bench = series("median", kept)
    if bench is not None and len(positive(kept)) == len(kept):
        return float(bench.median())
    return statistics.median(kept)


def quartiles(values: Sequence[float]) -> tuple[float, float] | None:
    """The 25th and 75th percentiles of a timing series (pyperf), or None below four values."""
    bench = series("quartiles", values)
    if bench is None or bench.get_nvalue() < 4:
        return None
    return float(bench.percentile(25)), float(bench.percentile(75))


def suite(benchmarks: Mapping[str, tuple[Iterable[float | None], str]],
          metadata: Mapping[str, str | int | float] | None = None) -> pyperf.BenchmarkSuite | None:
    """Every named ``(values, unit)`` series as one pyperf suite (empty series are left out)."""
    made = [b for name, (values, unit) in sorted(benchmarks.items())
            if (b := series(name, values, unit, metadata)) is not None]
    return pyperf.BenchmarkSuite(made) if made else None


def compare(old: Path, new: Path) -> str:
    """pyperf's comparison of two saved suites, as its ``compare_to --table`` prints it."""
    proc = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", str(old), str(new), "--table"],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"pyperf compare_to exited with {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return proc.stdout
