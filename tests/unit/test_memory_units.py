"""The pure parts of memory: the .dat parser, the memory-lines budget, the RAM verdict."""

from __future__ import annotations

import pandas as pd
import pytest

from profkit.analysis.memory import summarise
from profkit.collectors.memory import parse_dat
from profkit.engine.runner import memory_line_subset
from profkit.errors import UsageError
from profkit.pipeline import profile
from profkit.render import text as words
from tests.fixtures.records import mode_meta, run_meta
from tests.fixtures.workloads import SMALL_PRIMES

MIB = 2**20

DAT = """CMDLINE profkit demo processes
MEM 300.000000 100.0000
CHLD 11 100.000000 100.0000
CHLD 12 150.000000 100.0000
MEM 310.000000 100.0200
CHLD 11 100.000000 100.0200
"""


def test_parse_dat_splits_the_total_into_parent_and_children():
    rows = parse_dat(DAT, parent_pid=7, roles={11: "worker", 12: "worker"})
    assert [(r.time, r.pid, r.role, r.rss_bytes) for r in rows] == [
        (100.0, 7, "parent", 50 * MIB), (100.0, 11, "worker", 100 * MIB),
        (100.0, 12, "worker", 150 * MIB),
        (100.02, 7, "parent", 210 * MIB), (100.02, 11, "worker", 100 * MIB)]


def test_memory_line_subset_takes_the_cheapest_items_or_none():
    durations = {0: 0.3, 1: 0.1, 2: 0.2}
    # 10,000 lines per second at 3e-5 s each: 1.3x the plain time
    chosen, estimate = memory_line_subset(durations, 3, 1, 0.4, 10_000.0, parallel=False)
    assert chosen == [1, 2] and estimate == pytest.approx(0.3 * 1.3)
    chosen, estimate = memory_line_subset(durations, 3, 2, 0.2, 10_000.0, parallel=True)
    assert chosen == [1, 2]
    # a tight loop: a million traced lines per second cannot fit even the cheapest item
    chosen, estimate = memory_line_subset(durations, 3, 1, 2.0, 1e6, parallel=False)
    assert chosen == [] and estimate == pytest.approx(0.1 * 31)


def _frame(rows):
    return pd.DataFrame(rows, columns=["mode", "t_s", "pid", "role", "rss_bytes"])


def _meta(available):
    return run_meta({"processes": mode_meta(4)},
                    environment={"memory_available_bytes": available, "cpus_available": 4})


def test_memory_limits_the_workers_when_free_ram_holds_fewer():
    rows = []
    for t, rss in ((0.0, 50), (0.1, 1050)):
        rows.append(("processes", t, 1, "parent", 100 * MIB))
        rows += [("processes", t, pid, "worker", rss * MIB) for pid in (2, 3, 4, 5)]
    out = summarise(_frame(rows), _meta(int(3.5 * 2**30)))
    entry = out.modes["processes"]
    assert entry.worker_peak_bytes == 1050 * MIB and entry.worker_rise_bytes == 1000 * MIB
    assert entry.total_rise_bytes == 4000 * MIB
    assert entry.fits == 3 and entry.limited
    assert out.moved and out.limited == ["processes"] and out.available_bytes == int(3.5 * 2**30)
    assert words.memory_limits(out)[0].startswith("processes: Memory, not CPU, limits")
    roomy = summarise(_frame(rows), _meta(64 * 2**30))
    assert not roomy.modes["processes"].limited and not roomy.limited
    limit = roomy.modes["processes"].limit
    assert limit is not None and words.memory_limit(limit).startswith("Memory is not the limit")


def test_flat_memory_did_not_move():
    rows = [("processes", t, 1, "parent", 100 * MIB + int(t * 1000)) for t in (0.0, 0.1, 0.2)]
    assert summarise(_frame(rows), _meta(2**33)).moved is False


def test_an_unknown_memory_lines_name_is_a_usage_error():
    with pytest.raises(UsageError, match="--memory-lines no_such_function"):
        profile(SMALL_PRIMES, modes="sequential", memory_lines=["no_such_function"])
