"""The unsteady-host note on synthetic timings of known truth: the sequential map's CPU moving
between rounds is said, with its fewest and most seconds; a steady one, a map that mostly
waits, a pool's and the rounds set aside are not."""

from __future__ import annotations

import pandas as pd

from profkit.analysis.notes import NoteKind
from profkit.analysis.summary import HOST_DRIFT, host_drift
from profkit.frames import COLUMNS
from profkit.render import text as words


def timings(rows: list[tuple[str, int, int, float, float, bool]]) -> pd.DataFrame:
    """(mode, workers, round, wall, cpu, spoiled) per timed map, as the timings frame holds them."""
    data = [{"mode": mode, "workers": workers, "sweep": False, "phase": "map", "repeat": r,
             "order": 0, "wall_s": wall, "cpu_s": cpu, "others_cpu": 0.0, "spoiled": spoiled,
             "thread_cpu_s": float("nan")}
            for mode, workers, r, wall, cpu, spoiled in rows]
    return pd.DataFrame(data, columns=list(COLUMNS["timings"])).astype(
        {c: d for c, (d, _) in COLUMNS["timings"].items()})


def sequential(cpus: list[float], spoiled: tuple[int, ...] = ()) -> pd.DataFrame:
    return timings([("sequential", 1, r, cpu, cpu, r in spoiled) for r, cpu in enumerate(cpus)])


def test_a_map_whose_cpu_moved_is_said_with_its_seconds() -> None:
    note = host_drift(sequential([0.82, 0.84, 1.45]))
    assert note is not None and note.kind is NoteKind.UNSTEADY_HOST
    assert (note.mode, note.rounds) == ("sequential", 3)
    assert (note.cpu_low_s, note.cpu_high_s) == (0.82, 1.45)
    said = words.note(note)
    assert said.startswith("The same sequential map took 820.0 ms to 1.45 s of CPU over 3 timing "
                           "rounds (+77%)")


def test_a_steady_map_is_not_said() -> None:
    assert host_drift(sequential([0.82, 0.84, 0.82 * HOST_DRIFT * 0.99])) is None
    assert host_drift(sequential([0.82, 0.84, 0.82 * HOST_DRIFT * 1.01])) is not None


def test_a_map_that_mostly_waits_is_not_judged() -> None:
    # a tenth of its wall is CPU: a few ms of it moving is not the cores' speed
    rows = [("sequential", 1, r, 1.0, cpu, False) for r, cpu in enumerate([0.05, 0.1, 0.08])]
    assert host_drift(timings(rows)) is None


def test_pools_are_not_judged() -> None:
    # threads taking turns at the GIL moved their CPU 46% on a steady host
    rows = [("threads", 2, r, cpu, cpu, False) for r, cpu in enumerate([0.24, 0.35, 0.28])]
    rows += [("processes", 2, r, 0.1, cpu, False) for r, cpu in enumerate([0.24, 0.30, 0.40])]
    assert host_drift(timings(rows)) is None
    assert host_drift(timings(rows + [("sequential", 1, 0, 0.8, 0.8, False),
                                      ("sequential", 1, 1, 1.2, 1.2, False)])) is not None


def test_rounds_set_aside_are_left_out_while_two_clean_ones_remain() -> None:
    assert host_drift(sequential([0.82, 0.84, 1.45], spoiled=(2,))) is None
    # one clean round: the estimates use every round, and so does the note
    assert host_drift(sequential([0.82, 0.84, 1.45], spoiled=(1, 2))) is not None


def test_sweep_maps_are_left_out() -> None:
    frame = sequential([0.82, 0.84])
    sweep = sequential([1.45]).assign(sweep=True, repeat=5)
    assert host_drift(pd.concat([frame, sweep], ignore_index=True)) is None
