"""profkit ab: two versions raced in one interleaved run, on the same pools."""

from __future__ import annotations

import json

import pytest

from profkit.render import text as words
from tests.fixtures.cli import run_cli, run_main

pytestmark = pytest.mark.timeout(300)

VERSIONS = "tests.fixtures.versions"


def test_ab_calls_a_30_percent_regression_in_every_mode(tmp_path):
    out = tmp_path / "ab"
    result = run_cli("ab", f"{VERSIONS}:OLD", f"{VERSIONS}:NEW", "--modes",
                     "sequential,threads,processes", "--workers", "2", "--max-rounds", "15",
                     "--max-time", "20",
                     "--fail-above", "10", "--out", str(out), "--json")
    assert result.returncode == 1, result.stderr
    comparison = json.loads(result.stdout)
    modes = {m["mode"]: m for m in comparison["modes"]}
    assert set(modes) == {"sequential", "threads", "processes"}
    rounds_a = json.loads((out / "A" / "run.json").read_text())["rounds"]
    busy = sum(not r["spoiled"] for r in rounds_a) < 2
    for mode, change in modes.items():
        assert change["paired"] is True
        assert change["verdict"] == "slower", (mode, change)
        assert 10 < change["change_pct"] < 60, (mode, change)
        if not busy:  # a quiet machine: wall time, the pairing cancels what load there was
            assert change["measure"] == "wall", (mode, change)
    for side in ("A", "B"):
        data = json.loads((out / side / "run.json").read_text())
        assert data["status"] == {"sequential": "ok", "threads": "ok", "processes": "ok"}
        if busy:  # other programs took the cores: the run says so
            said = words.worded_json(data["analysis"])
            notes = said["warnings"] + said["notes"]
            assert any("set aside" in w for w in notes), notes
    rounds_b = json.loads((out / "B" / "run.json").read_text())["rounds"]
    assert rounds_a == rounds_b and 3 <= len(rounds_a) <= 15
    assert all(sorted(r["order"]) == sorted(f"{s} {m}" for s in "AB" for m in modes) for r in rounds_a)
    assert (out / "ab.html").is_file() and (out / "ab.json").is_file()
    again = run_main("compare", str(out / "A"), str(out / "B"), "--no-html")
    assert again.returncode == 0, again.stderr
    assert run_main("report", str(out / "B")).returncode == 0


@pytest.mark.matrix
def test_ab_of_the_same_code_passes_the_gate(tmp_path):
    result = run_cli("ab", f"{VERSIONS}:OLD", f"{VERSIONS}:OLD", "--modes", "sequential",
                     "--repeat", "5", "--fail-above", "10", "--out", str(tmp_path / "ab"), "--quiet")
    assert result.returncode == 0, result.stderr


def test_ab_names_the_run_folders_it_saves_and_its_warnings(tmp_path):
    out = tmp_path / "ab"
    result = run_cli("ab", f"{VERSIONS}:OLD", f"{VERSIONS}:OLD", "--modes", "sequential",
                     "--repeat", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    head = result.stdout.splitlines()[:3]
    assert head[0] == "profkit compare: B against A"
    assert head[1].startswith(f"  A: {out / 'A'}  (old, ") and head[2].startswith(f"  B: {out / 'B'}  (old, ")
    saved = json.loads((out / "ab.json").read_text())
    assert (saved["run_a"]["path"], saved["run_b"]["path"]) == (str(out / "A"), str(out / "B"))
    assert f"<code>{out / 'A'}</code>" in (out / "ab.html").read_text()
    for warning in saved["warnings"]:  # e.g. rounds set aside on a busy machine
        assert f"profkit: warning: {warning}" in result.stderr


def test_ab_refuses_targets_over_different_items(tmp_path):
    result = run_main("ab", f"{VERSIONS}:OLD", f"{VERSIONS}:OTHER_ITEMS", "--modes", "sequential",
                      "--out", str(tmp_path / "ab"))
    assert result.returncode == 2
    assert "different items" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "ab").exists()
