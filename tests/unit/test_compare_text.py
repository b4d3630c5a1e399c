"""What compare and ab print about their inputs: the rule's repeat counts, set-aside rounds and
what A and B are, each from the same fact as the number beside it (synthetic timings frames)."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pandas as pd

from profkit import store
from profkit.analysis.compare import CompareNoteKind, Comparison, RunInfo, _warnings, compare_timings
from profkit.analysis.records import Analysis
from profkit.frames import FRAME_NAMES, empty, frame_of
from profkit.model import RoundInfo, Status
from profkit.render.compare_html import render as render_html
from profkit.render.compare_text import format_text
from profkit.render.text import compare_note
from profkit.run import Run
from tests.fixtures.cli import run_main
from tests.fixtures.records import mode_meta, run_meta


def _info(path: str | None, target: str = "wl.py:squares") -> RunInfo:
    return RunInfo(path=path, workload="squares", target=target, started_at="2026-01-01T00:00:00",
                   python="3.11", platform="x", cpus=2, start_method="fork", repeat=None)


def _timings(walls: dict[str, list[float]], spoiled: dict[str, list[bool]] | None = None) -> pd.DataFrame:
    """A timings frame as a run saves it: one map row per mode and repeat."""
    rows = []
    for mode, values in walls.items():
        marks = (spoiled or {}).get(mode, [False] * len(values))
        rows += [{"mode": mode, "workers": 1 if mode == "sequential" else 2, "sweep": False,
                  "phase": "map", "repeat": k, "order": 0, "wall_s": v, "cpu_s": v,
                  "others_cpu": 1.5 if s else 0.0, "spoiled": s, "thread_cpu_s": float("nan")}
                 for k, (v, s) in enumerate(zip(values, marks, strict=True))]
    return pd.DataFrame(rows)


def _noisy(n: int, centre: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [centre * rng.lognormvariate(0.0, 0.03) for _ in range(n)]


def _comparison(timings_a: pd.DataFrame, timings_b: pd.DataFrame, paired: bool = False,
                path_a: str | None = "/runs/a", path_b: str | None = "/runs/b") -> Comparison:
    return Comparison(run_a=_info(path_a), run_b=_info(path_b),
                      modes=compare_timings(timings_a, timings_b, paired=paired))


def test_the_rule_states_the_repeats_the_table_shows():
    a = _timings({"sequential": _noisy(25, 1.0, 1), "processes": _noisy(25, 0.6, 2)})
    b = _timings({"sequential": _noisy(25, 1.0, 3), "processes": _noisy(25, 0.6, 4)})
    comparison = _comparison(a, b)
    text = format_text(comparison)
    assert all("25/25" in line for line in text.splitlines() if line.startswith(("sequential", "processes")))
    assert "from 25 repeats a side." in text and "from 2 repeats" not in text
    assert "from 25 repeats a side." in render_html(comparison)


def test_the_rule_states_unequal_and_per_mode_repeats():
    a = _timings({"sequential": _noisy(7, 1.0, 1)})
    b = _timings({"sequential": _noisy(4, 1.0, 2)})
    assert "from 7 repeats of A and 4 of B." in format_text(_comparison(a, b))
    a = _timings({"sequential": _noisy(7, 1.0, 1), "processes": _noisy(5, 0.6, 2)})
    b = _timings({"sequential": _noisy(7, 1.0, 3), "processes": _noisy(3, 0.6, 4)})
    text = format_text(_comparison(a, b))
    assert "7/7" in text and "5/3" in text
    assert "from each mode's repeats (the repeats column)." in text
    one = _comparison(_timings({"sequential": [1.0]}), _timings({"sequential": [1.1]}))
    assert "from 1 repeat a side, too few: an interval needs at least 2 a side." in format_text(one)


def test_paired_rounds_are_counted_as_rounds():
    a = _timings({"sequential": _noisy(12, 1.0, 1)})
    b = _timings({"sequential": _noisy(12, 1.3, 2)})
    assert "from 12 paired rounds." in format_text(_comparison(a, b, paired=True))


# -- rounds set aside as spoiled -------------------------------------------------


def _saved(path: Path, walls: dict[str, list[float]], spoiled: dict[str, list[bool]] | None = None) -> Path:
    """A run folder as profkit profile saves it (no report): run.json, the timings frame, and
    run.json's rounds marking the same rounds spoiled."""
    timings = _timings(walls, spoiled)
    frames = {name: empty(name) for name in FRAME_NAMES}
    frames["timings"] = frame_of("timings", timings.to_dict("records"))
    marks = next(iter((spoiled or {}).values()), [False] * len(next(iter(walls.values()))))
    meta = run_meta({mode: mode_meta(1 if mode == "sequential" else 2) for mode in walls},
                    rounds=[RoundInfo(round=k, order=list(walls), wall_s=1.0, others_cpu=1.5 if bad else 0.0,
                                      spoiled=bad) for k, bad in enumerate(marks)],
                    options={"repeat": len(marks), "spoiled_cores": 0.5, "line_budget_s": 0.0})
    meta.status = {mode: Status.OK for mode in walls}
    run = Run(meta=meta, analysis=Analysis(), frames=frames, profiles={}, line_stats={})
    return store.save(run, path)


def test_rounds_all_set_aside_are_counted_and_said(tmp_path):
    """A's 25 rounds were all spoiled: too few clean ones were left, so compare uses all 25, says
    how many were set aside on each side, and that the change may be the machine's."""
    a = _saved(tmp_path / "a", {"sequential": _noisy(25, 1.0, 1)}, {"sequential": [True] * 25})
    assert sum(r["spoiled"] for r in json.loads((a / "run.json").read_text())["rounds"]) == 25
    b = _saved(tmp_path / "b", {"sequential": _noisy(25, 1.0, 2)},
               {"sequential": [k in (3, 7) for k in range(25)]})
    result = run_main("compare", a, b, "--json", "--no-html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (mode,) = data["modes"]
    assert (mode["repeats_a"], mode["set_aside_a"], mode["set_aside_used_a"]) == (25, 25, True)
    assert (mode["repeats_b"], mode["set_aside_b"], mode["set_aside_used_b"]) == (23, 2, False)
    said = ("sequential: other programs were busy during 25 of A's 25 repeats, too few clean ones "
            "were left, so all 25 are compared; 2 repeat(s) of B were set aside because other "
            "programs were busy during them; they are not compared: the change may be the "
            "machine's, not the code's")
    assert any(w.startswith(said) for w in data["warnings"]), data["warnings"]
    assert said in result.stderr


def test_some_rounds_set_aside_are_left_out_and_said(tmp_path):
    marks = [k % 5 == 0 for k in range(10)]
    a = _saved(tmp_path / "a", {"sequential": _noisy(10, 1.0, 1)}, {"sequential": marks})
    b = _saved(tmp_path / "b", {"sequential": _noisy(10, 1.0, 2)})
    data = json.loads(run_main("compare", a, b, "--json", "--no-html", cwd=tmp_path).stdout)
    (mode,) = data["modes"]
    assert (mode["repeats_a"], mode["set_aside_a"], mode["set_aside_used_a"]) == (8, 2, False)
    assert (mode["repeats_b"], mode["set_aside_b"]) == (10, 0)
    assert ("sequential: 2 repeat(s) of A and 0 of B were set aside because other programs were busy "
            "during them; they are not compared") in data["warnings"]


def test_paired_rounds_set_aside_are_counted():
    """ab's rounds: a round spoiled on either side is left out, and counted, while two clean
    rounds remain; with fewer, every round is compared and the count says which were spoiled."""
    marks = [k in (0, 4) for k in range(8)]
    a = _timings({"sequential": _noisy(8, 1.0, 1)}, {"sequential": marks})
    b = _timings({"sequential": _noisy(8, 1.3, 2)}, {"sequential": marks})
    (m,) = compare_timings(a, b, paired=True)
    assert (m.repeats_a, m.repeats_b, m.set_aside_a, m.set_aside_b) == (6, 6, 2, 2)
    assert not (m.set_aside_used_a or m.set_aside_used_b)
    busy = [k != 5 for k in range(8)]
    a = _timings({"sequential": _noisy(8, 1.0, 1)}, {"sequential": busy})
    b = _timings({"sequential": _noisy(8, 1.3, 2)}, {"sequential": busy})
    (m,) = compare_timings(a, b, paired=True)
    assert (m.repeats_a, m.set_aside_a, m.set_aside_used_a, m.set_aside_used_b) == (8, 7, True, True)
    (note,) = [compare_note(n) for n in _warnings(_info(None), _info(None), [m])
               if n.kind is CompareNoteKind.SET_ASIDE]
    assert note.startswith("sequential: other programs were busy during 7 of each side's 8 repeats, "
                           "too few clean ones were left, so all 8 are compared: the change may be")


def test_a_side_not_saved_is_named_by_its_target():
    """profkit.ab without ``out`` saves no folder: each side is its target, never 'None'."""
    a = _timings({"sequential": _noisy(5, 1.0, 1)})
    comparison = _comparison(a, a, paired=True, path_a=None, path_b=None)
    comparison.run_b.target = "wl.py:squares_v2"
    text = format_text(comparison)
    assert "None" not in text
    assert "  A: wl.py:squares  (squares, " in text and "  B: wl.py:squares_v2  (squares, " in text
    html = render_html(comparison)
    assert "<code>wl.py:squares</code>" in html and "<code>wl.py:squares_v2</code>" in html
    assert "<code>None</code>" not in html


def test_few_repeats_name_the_command_that_gives_more():
    """Two profiles get more repeats from profile --repeat; an ab race from another ab run."""
    for paired, fix in ((False, "profile with --repeat 5"), (True, "rerun profkit ab with --repeat 5")):
        a = _timings({"sequential": _noisy(3, 1.0, 1)})
        b = _timings({"sequential": _noisy(3, 1.0, 2)})
        (m,) = compare_timings(a, b, paired=paired)
        notes = [compare_note(n) for n in _warnings(_info(None), _info(None), [m])
                 if n.kind is CompareNoteKind.FEW_REPEATS]
        assert len(notes) == 1 and fix in notes[0], notes


def test_the_gate_fails_a_mode_that_b_never_timed_even_when_a_never_did():
    """--fail-above gates B: a mode with no timings in B fails it, whatever A had."""
    startup = {"phase": "startup", "repeat": 0, "order": 0, "wall_s": 0.1, "cpu_s": float("nan"),
               "others_cpu": 0.0, "spoiled": False, "thread_cpu_s": float("nan"), "sweep": False}
    def failed(walls: dict[str, list[float]]) -> pd.DataFrame:
        rows = pd.DataFrame([{"mode": "processes", "workers": 2, **startup}])
        return pd.concat([_timings(walls), rows], ignore_index=True)

    ok = {"sequential": _noisy(5, 1.0, 1)}
    for a in (failed(ok), _timings({**ok, "processes": _noisy(5, 0.6, 2)})):
        comparison = _comparison(a, failed({"sequential": _noisy(5, 1.0, 3)}))
        assert [m.mode for m in comparison.modes] == ["sequential", "processes"]
        assert [m.mode for m in comparison.lost_in_b()] == ["processes"]
        assert comparison.gate_fails(10.0)
    same = _comparison(_timings(ok), _timings({"sequential": _noisy(5, 1.0, 3)}))
    assert not same.gate_fails(10.0)


def test_ab_races_two_named_versions_without_a_different_workloads_warning():
    """Two profiles of differently named workloads get the warning; ab's two versions, raced
    over the same items by design, do not."""
    walls = {"sequential": _noisy(5, 1.0, 1)}
    for paired, warned in ((False, True), (True, False)):
        (m,) = compare_timings(_timings(walls), _timings(walls), paired=paired)
        kinds = [n.kind for n in _warnings(_info(None, "ab.py:A"), dataclasses.replace(
            _info(None, "ab.py:B"), workload="b"), [m])]
        assert (CompareNoteKind.WORKLOADS in kinds) is warned
