"""Code that works in phases gets the right bottleneck and hot lines by default.

A task builds a list, transforms it and reduces it. profkit's default run, in every
mode, must give the top function and its share of self time within 5 points of a
plain cProfile of the same items, and the hottest line and its share within 5 points
of a plain line_profiler (kernprof's engine) run on the same items. Both references
run here, in this process, on the items profkit says it covered.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics

import pytest
from line_profiler import LineProfiler

from profkit.pipeline import profile
from tests.fixtures import phases
from tests.fixtures.bare import agrees_in_one_of

MODES = ("sequential", "threads", "processes")
POINTS = 5.0


@pytest.fixture(scope="module")
def phases_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("phases") / "run"
    return profile(phases.WORKLOAD, modes=",".join(MODES), workers=2, repeat=3, out=out,
                   lines="build,transform,reduce_values")


def _plain_cprofile(items: list[int], runs: int = 3) -> dict[str, float]:
    """Self-time share (percent) per function name of a plain cProfile of ``items``: the median
    of ``runs`` profiles, so that a burst of the host's noise in one does not move the truth."""
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        profiler = cProfile.Profile()
        profiler.enable()
        for index in items:
            phases.task(phases.WORKLOAD.items[index])
        profiler.disable()
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        total = sum(v[2] for v in stats.values())
        shares: dict[str, float] = {}
        for (_file, _line, name), v in stats.items():
            shares[name] = shares.get(name, 0.0) + 100 * v[2] / total
        samples.append(shares)
    return {name: statistics.median(s.get(name, 0.0) for s in samples) for name in samples[0]}


def _top_functions_agree(run) -> tuple[bool, object]:
    """Whether each mode's top function and its share agree with a plain cProfile."""
    meta = run.meta.modes
    for mode in MODES:
        covered = meta[mode].cprofile_indices
        assert covered and not meta[mode].cprofile_cut_s, mode  # whole items, none cut
        top = next(b for b in run.analysis.bottlenecks if b.mode == mode)
        # the first phase is not the bottleneck, as a cut at the items' start made it
        assert top.name != "build", (mode, top)
        plain = _plain_cprofile(covered)
        plain_top = max(plain, key=plain.__getitem__)
        if top.name != plain_top or abs(top.self_pct - plain[plain_top]) > POINTS:
            return False, (mode, top.name, top.self_pct, plain)
    return True, None


def test_the_top_function_and_its_share_match_a_plain_cprofile_in_every_mode(phases_run, tmp_path):
    """profkit's profile is one pass per mode: a second run is made when the first misses, as a
    burst of the host's noise (a core 1.75x slower for a second or two) in one phase of one
    pass moves the shares; a bias misses in both."""
    runs = [phases_run]

    def attempt(k: int) -> tuple[bool, object]:
        if k >= len(runs):
            runs.append(profile(phases.WORKLOAD, modes=",".join(MODES), workers=2, repeat=3,
                                out=tmp_path / f"run{k}", lines="build,transform,reduce_values"))
        return _top_functions_agree(runs[k])

    agrees_in_one_of(attempt)


def _plain_lines(items: list[int]) -> dict[tuple[str, int], float]:
    """Share (percent) of the traced time per (function, line) of plain line_profiler runs."""
    functions = [phases.build, phases.transform, phases.reduce_values, phases.task]
    profiler = LineProfiler(*functions)
    for index in items:
        profiler.runcall(phases.task, phases.WORKLOAD.items[index])
    stats = profiler.get_stats()
    times = {(name, lineno): t * stats.unit for (_f, _first, name), entries in stats.timings.items()
             for lineno, _hits, t in entries}
    total = sum(times.values())
    return {key: 100 * t / total for key, t in times.items()}


def test_the_hottest_line_and_its_share_match_a_plain_line_profiler_on_the_same_items(phases_run):
    lines = phases_run.frames["lines"]
    meta = phases_run.meta.modes
    traced_modes = [m for m in MODES if meta[m].line_items]
    assert "sequential" in traced_modes
    for mode in traced_modes:
        assert not meta[mode].line_cut_s, mode  # whole items
        rows = lines[lines["mode"] == mode]
        total = float(rows["time_s"].sum())
        ours = {(r.function, int(r.lineno)): 100 * float(r.time_s) / total
                for r in rows.itertuples()}
        plain = _plain_lines(meta[mode].line_items)
        hottest = max(plain, key=plain.__getitem__)
        assert max(ours, key=ours.__getitem__) == hottest, (mode, ours, plain)
        assert abs(ours[hottest] - plain[hottest]) <= POINTS, (mode, ours[hottest], plain[hottest])
    for mode in set(MODES) - set(traced_modes):
        assert meta[mode].line_deferred, mode  # said why: one mode traced one item for all
