"""``profkit compare``: the U test itself, then real runs compared through the CLI."""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

import psutil
import pytest

import profkit
from profkit.analysis.compare import (
    FASTER,
    SAME,
    SLOWER,
    _u_counts,
    compare_mode,
    exact_p_value,
    mann_whitney_u,
    smallest_p_value,
)
from tests.conftest import IN_CI, require
from tests.fixtures.cli import cli_env, copy_fixture, one_line_error, run_cli

# -- the Mann-Whitney U test against hand-computed values ---------------------


def test_exact_p_for_fully_separated_samples():
    # U = 0: only 1 of the C(6, 3) = 20 orderings is as extreme on each side.
    result = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert (result.u, result.method) == (0.0, "exact")
    assert result.p == pytest.approx(0.1)
    result = mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert result.p == pytest.approx(2 / 252)
    assert mann_whitney_u([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]).u == 25.0
    assert mann_whitney_u([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]).p == pytest.approx(2 / 252)


def test_exact_p_for_overlapping_samples():
    # a = [1, 3], b = [2, 4]: U_a = 1; of the 6 orderings U = 0, 1, 2, 2, 3, 4,
    # so P(U <= 1) = 2/6 and the two-sided p is 4/6.
    assert _u_counts(2, 2) == (1, 1, 2, 1, 1)
    result = mann_whitney_u([1, 3], [2, 4])
    assert result.u == 1.0
    assert result.p == pytest.approx(4 / 6)
    # the middle of the distribution: p is capped at 1
    assert mann_whitney_u([1, 4], [2, 3]).p == 1.0


@pytest.mark.parametrize("m, n", [(1, 1), (2, 3), (5, 5), (4, 9), (12, 7)])
def test_u_distribution_counts_every_ordering_once_and_is_symmetric(m, n):
    counts = _u_counts(m, n)
    assert len(counts) == m * n + 1
    assert sum(counts) == math.comb(m + n, m)
    assert counts == counts[::-1]
    assert counts == _u_counts(n, m)


def test_smallest_p_tells_what_a_repeat_count_can_show():
    assert smallest_p_value(5, 5) == pytest.approx(2 / 252)
    assert smallest_p_value(3, 3) == pytest.approx(0.1)
    assert smallest_p_value(4, 4) == pytest.approx(2 / 70)
    assert smallest_p_value(2, 2) == pytest.approx(1 / 3)
    assert exact_p_value(0, 5, 5) == smallest_p_value(5, 5)


def test_ties_fall_back_to_the_normal_approximation():
    result = mann_whitney_u([1, 2, 2, 3], [2, 3, 4, 4])
    assert result.method == "normal"
    assert 0 < result.p <= 1
    assert mann_whitney_u([5.0] * 4, [5.0] * 4).p == 1.0
    with pytest.raises(ValueError, match="ties"):
        mann_whitney_u([1, 2], [2, 3], method="exact")
    with pytest.raises(ValueError, match="at least one"):
        mann_whitney_u([], [1.0])
    with pytest.raises(ValueError, match="method"):
        mann_whitney_u([1.0], [2.0], method="permutation")


def test_agrees_with_scipy():
    require("scipy")
    import scipy.stats as scipy_stats
    rng = random.Random(4)
    for _ in range(300):
        m, n = rng.randint(1, 12), rng.randint(1, 12)
        a = [rng.gauss(0, 1) for _ in range(m)]
        b = [rng.gauss(0.7, 1) for _ in range(n)]
        if rng.random() < 0.3:  # some samples with ties
            a, b = [round(x) for x in a], [round(x) for x in b]
        ours = mann_whitney_u(a, b)
        theirs = scipy_stats.mannwhitneyu(
            a, b, alternative="two-sided", method="exact" if ours.method == "exact" else "asymptotic")
        assert ours.u == pytest.approx(theirs.statistic)
        assert ours.p == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-12)


def test_compare_mode_verdicts_on_fixed_samples():
    a = [1.00, 1.02, 0.99, 1.01, 1.03]
    slower = compare_mode("processes", a, [1.3 * x for x in a])
    assert slower.verdict == SLOWER and slower.significant
    assert slower.change_pct == pytest.approx(30.0)
    assert slower.p_value == pytest.approx(2 / 252)
    assert slower.ratio_ci[0] <= slower.ratio <= slower.ratio_ci[1]
    faster = compare_mode("processes", a, [0.7 * x for x in a])
    assert faster.verdict == FASTER and faster.change_pct == pytest.approx(-30.0)
    same = compare_mode("processes", a, [1.01, 0.98, 1.02, 1.0, 1.04])
    assert same.verdict == SAME and not same.significant
    # 30% slower but only 3 vs 3 repeats: p = 0.1 can never pass alpha = 0.05
    few = compare_mode("processes", a[:3], [1.3 * x for x in a[:3]])
    assert few.p_value == pytest.approx(0.1) and few.verdict == SAME


# -- real runs through the CLI -------------------------------------------------

PROFILE_ARGS = ("--modes", "sequential,processes", "--workers", "2", "--repeat", "5",
                "--line-budget", "0.01", "-q")
#: Run B's task does this much more work: 50% more, so the test stays clear of the
#: machine's noise while --fail-above 10 still has a wide margin.
SLOWDOWN = "1.5"


#: Wall time on a shared machine drifts when other jobs start or stop between two
#: runs; a timing verdict that comes out wrong is re-measured with fresh runs, up to
#: this many attempts in all. A real regression in compare fails every attempt.
ATTEMPTS = 3


def _profile(target: str, out: Path, factor: str) -> Path:
    result = run_cli("profile", target, *PROFILE_ARGS, "--out", out, cwd=out.parent,
                     env=cli_env(PROFKIT_TEST_SLOWDOWN=factor))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Real runs of tests/fixtures/tunable.py (copied outside the project): A, A again, B slower."""
    root = tmp_path_factory.mktemp("compare")
    target = f"{copy_fixture('tunable.py', root)}:WORKLOAD"
    out = {name: _profile(target, root / name, factor)
           for name, factor in (("a", "1"), ("a2", "1"), ("b", SLOWDOWN))}
    return {**out, "root": root, "target": target}


def _mode_rows(stdout: str) -> dict[str, str]:
    return {line.split()[0]: line.rstrip() for line in stdout.splitlines()
            if line.startswith(("sequential ", "processes "))}


#: If every attempt misses and other programs took more than this share of the machine's CPU
#: while we measured, the test is skipped: wall time then says more about them than about us.
BUSY_SHARE = 0.2


def _busy_cpu() -> tuple[float, float]:
    """CPU seconds the whole machine and this process's tree (waited-for children) have used."""
    machine = psutil.cpu_times()
    busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
    own = os.times()
    return busy, own.user + own.system + own.children_user + own.children_system


def _compare_until(runs, factor: str, expected: int, verdict: str, *flags: str, reverse: bool = False):
    """compare A with B (B's task scaled by ``factor``; B against A if ``reverse``) until the exit
    code is ``expected`` and every mode's verdict is ``verdict``; after a miss, profile a fresh
    pair (noise). If every attempt misses on a machine busy with other work, skip: the timing
    proves nothing then."""
    a, b = runs["a"], runs["b" if factor != "1" else "a2"]
    shares = []
    for attempt in range(ATTEMPTS):
        if attempt:
            folder = Path(tempfile.mkdtemp(prefix=f"retry-{factor}-{attempt}-", dir=runs["root"]))
            t0, (busy0, own0) = time.monotonic(), _busy_cpu()
            a = _profile(runs["target"], folder / "a", "1")
            b = _profile(runs["target"], folder / "b", factor)
            busy1, own1 = _busy_cpu()
            capacity = (time.monotonic() - t0) * (psutil.cpu_count() or 1)
            shares.append(max(0.0, (busy1 - busy0) - (own1 - own0)) / capacity)
        result = run_cli("compare", *((b, a) if reverse else (a, b)), *flags, cwd=runs["root"])
        rows = _mode_rows(result.stdout)
        if result.returncode == expected and rows and all(r.endswith(verdict) for r in rows.values()):
            return result, a, b
    if shares and min(shares) > BUSY_SHARE and not IN_CI:
        pytest.skip(f"the machine was busy: other programs used {100 * min(shares):.0f}% or more of its "
                    f"CPU during each of {ATTEMPTS} attempts\n{result.stdout}")
    return result, a, b


@pytest.mark.timeout(240)
def test_same_code_twice_is_no_significant_change(runs):
    result, _, b = _compare_until(runs, "1", 0, SAME, "--fail-above", "10", "--no-html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "sequential" in result.stdout and "processes" in result.stdout
    assert not (b / "compare.html").exists()


@pytest.mark.timeout(240)
def test_a_run_against_itself_is_exactly_unchanged(runs):
    result = run_cli("compare", runs["a"], runs["a"], "--fail-above", "0", "--json", "--no-html",
                     cwd=runs["root"])
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [m["mode"] for m in data["modes"]] == ["sequential", "processes"]
    for mode in data["modes"]:
        assert mode["change_pct"] == 0.0
        assert mode["p_value"] == 1.0
        assert mode["verdict"] == SAME


@pytest.mark.timeout(240)
def test_slower_run_is_flagged_reported_and_fails_the_threshold(runs):
    result, a, b = _compare_until(runs, SLOWDOWN, 1, SLOWER, "--fail-above", "10")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = _mode_rows(result.stdout)
    assert set(rows) == {"sequential", "processes"}
    for row in rows.values():
        assert row.endswith(SLOWER), row
        assert float(row.split()[-2]) < 0.05, row  # the p column
    stderr = result.stderr.splitlines()
    assert stderr and all("slower" in line and "--fail-above 10%" in line for line in stderr)
    assert "Traceback" not in result.stderr

    # the self-time table names the function that got slower, with its call count
    spin = [line for line in result.stdout.splitlines() if line.startswith("spin (tunable.py")]
    assert len(spin) == 2 and all(line.split()[-2:] == ["6", "6"] for line in spin)

    report = b / "compare.html"
    assert report.is_file()
    html = report.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert 'data-mode="processes"' in html and "slower" in html and "spin" in html
    assert f"report: {report}" in result.stdout

    # a threshold above the largest change is not crossed (compare itself is deterministic on
    # saved runs), and the report is replaced: it is profkit's own
    changes = json.loads(run_cli("compare", a, b, "--json", "--no-html", cwd=runs["root"]).stdout)
    largest = max(m["change_pct"] for m in changes["modes"])
    assert largest > 10
    before = report.stat().st_mtime_ns
    higher = run_cli("compare", a, b, "--fail-above", f"{largest + 1:.1f}", cwd=runs["root"])
    assert higher.returncode == 0, higher.stderr
    assert report.stat().st_mtime_ns != before


@pytest.mark.timeout(240)
def test_faster_run_is_not_a_failure(runs):
    result, _, _ = _compare_until(runs, SLOWDOWN, 0, FASTER, "--fail-above", "10", "--no-html", reverse=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(240)
def test_output_never_replaces_a_users_file(runs, tmp_path):
    mine = tmp_path / "notes.html"
    mine.write_text("my own notes", encoding="utf-8")
    error = one_line_error(run_cli("compare", runs["a"], runs["b"], "--output", mine, cwd=tmp_path))
    assert "notes.html" in error and "not a profkit compare report" in error
    assert mine.read_text(encoding="utf-8") == "my own notes"

    chosen = tmp_path / "sub" / "cmp.html"
    result = run_cli("compare", runs["a"], runs["b"], "--output", chosen, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert chosen.is_file()


@pytest.mark.timeout(240)
def test_different_workloads_compare_with_a_warning(runs, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(runs["a2"], other)
    run_json = other / "run.json"
    data = json.loads(run_json.read_text(encoding="utf-8"))
    data["workload"]["name"] = "another-workload"
    run_json.write_text(json.dumps(data), encoding="utf-8")
    result = run_cli("compare", runs["a"], other, "--no-html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("profkit: warning: ") and "different workloads" in warnings[0]


@pytest.mark.timeout(240)
def test_too_few_repeats_are_called_out(runs, tmp_path):
    few = tmp_path / "few"
    made = run_cli("profile", runs["target"], "--modes", "sequential", "--repeat", "2",
                   "--line-budget", "0.01", "-q", "--out", few, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    result = run_cli("compare", runs["a"], few, "--no-html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "can never reach p < 0.05" in result.stderr
    assert "only in A: processes" in result.stdout


@pytest.mark.timeout(240)
def test_bad_inputs_are_one_line_and_exit_2(runs, tmp_path):
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    assert "no run.json" in one_line_error(run_cli("compare", not_a_run, runs["a"], cwd=tmp_path))
    assert "not a folder" in one_line_error(
        run_cli("compare", runs["a"], tmp_path / "missing", cwd=tmp_path))

    corrupt = tmp_path / "corrupt"
    shutil.copytree(runs["a"], corrupt)
    (corrupt / "run.json").write_text('{"format_version": 1, "workl', encoding="utf-8")
    assert "corrupt" in one_line_error(run_cli("compare", runs["a"], corrupt, cwd=tmp_path))

    newer = tmp_path / "newer"
    shutil.copytree(runs["a"], newer)
    data = json.loads((newer / "run.json").read_text(encoding="utf-8"))
    data["format_version"] = 999
    (newer / "run.json").write_text(json.dumps(data), encoding="utf-8")
    assert "newer" in one_line_error(run_cli("compare", newer, runs["a"], cwd=tmp_path))

    error = one_line_error(run_cli("compare", runs["a"], runs["a2"], "--alpha", "0", cwd=tmp_path))
    assert "--alpha" in error


@pytest.mark.parametrize("flags", [["--alpha", "1.5"], ["--alpha", "x"], ["--fail-above", "-3"],
                                   ["--fail-above", "ten"], ["--top", "x"], ["--top", "-1"]])
def test_bad_flags_are_one_line_and_exit_2(runs, capsys, flags):
    from profkit.cli import main

    assert main(["compare", str(runs["a"]), str(runs["a2"]), *flags]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("profkit: error: " + flags[0])
    assert not (runs["a2"] / "compare.html").exists()


# -- the HTML report ----------------------------------------------------------------


def test_report_escapes_names_and_is_self_contained():
    from profkit.analysis.compare import Comparison, FunctionChange
    from profkit.render.compare_html import GENERATOR, render

    evil = "<script>alert('x')</script>"
    run = {"path": f"/tmp/{evil}", "workload": evil, "target": evil, "started_at": None,
           "python": "3.11", "platform": "x", "cpus": 2, "start_method": "fork", "repeat": 5,
           "status": {}}
    comparison = Comparison(
        run_a=run, run_b=run, alpha=0.05,
        modes=[compare_mode("processes", [1.0, 1.1, 1.2], [1.5, 1.6, 1.7], workers_a=2, workers_b=4)],
        functions={"processes": [FunctionChange(
            mode="processes", function=evil, name=evil, filename="~", lineno=0, self_a_s=0.0,
            self_b_s=0.5, delta_s=0.5, change_pct=None, ncalls_a=0, ncalls_b=3, status="new")]},
        warnings=[f"warning about {evil}"],
    )
    html = render(comparison)
    assert evil not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert f'<meta name="generator" content="{GENERATOR} {profkit.__version__}">' in html[:4096]
    assert "2 → 4" in html  # worker counts that differ are shown
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # opens offline: nothing fetched


def _timings(rows):
    import pandas as pd

    return pd.DataFrame([{"mode": m, "workers": w, "sweep": s, "phase": ph, "repeat": k, "wall_s": v,
                          "cpu_s": v} for m, w, s, ph, k, v in rows])


def test_compare_timings_uses_main_map_repeats_only():
    from profkit.analysis.compare import MISSING, compare_timings

    a = _timings([("sequential", 1, False, "startup", 0, 9.0)]
                 + [("sequential", 1, False, "map", k, 1.0 + k / 100) for k in range(5)]
                 + [("processes", 2, False, "startup", 0, 9.0)]  # failed before any map
                 + [("processes", 1, True, "map", k, 5.0) for k in range(5)])  # a sweep point
    b = _timings([("sequential", 1, False, "map", k, 2.0 + k / 100) for k in range(5)]
                 + [("processes", 2, False, "map", k, 1.0) for k in range(5)]
                 + [("threads", 2, False, "map", k, 1.0) for k in range(5)])
    seq, proc = compare_timings(a, b)
    assert (seq.mode, seq.repeats_a, seq.verdict) == ("sequential", 5, SLOWER)
    assert seq.median_a_s == pytest.approx(1.02) and seq.median_b_s == pytest.approx(2.02)
    assert (proc.mode, proc.repeats_a, proc.verdict) == ("processes", 0, MISSING)
    assert (proc.workers_a, proc.workers_b) == (2, 2)


def test_compare_functions_matches_by_label_and_keeps_new_and_gone():
    import pandas as pd

    from profkit.analysis.compare import compare_functions

    def frame(rows):
        return pd.DataFrame([{"mode": "processes", "function": f"/w.py:{line}({name})", "name": name,
                              "filename": "/w.py", "lineno": line, "ncalls": calls, "self_s": t}
                             for name, line, calls, t in rows])

    a = frame([("spin", 3, 6, 1.0), ("old", 9, 1, 0.2), ("task", 12, 6, 0.01)])
    b = frame([("spin", 3, 6, 1.5), ("new", 20, 2, 0.3), ("task", 12, 6, 0.01)])
    changes = compare_functions(a, b, top=3)["processes"]
    assert [(c.name, c.status) for c in changes] == [("spin", "changed"), ("new", "new"), ("old", "gone")]
    spin, new, old = changes
    assert spin.delta_s == pytest.approx(0.5) and spin.change_pct == pytest.approx(50.0)
    assert (new.self_a_s, new.ncalls_a, new.change_pct, new.lineno) == (0.0, 0, None, 20)
    assert (old.self_b_s, old.delta_s) == (0.0, pytest.approx(-0.2))


@pytest.mark.timeout(240)
def test_a_failed_mode_is_called_out(runs, tmp_path):
    failed = tmp_path / "failed"
    shutil.copytree(runs["a2"], failed)
    data = json.loads((failed / "run.json").read_text(encoding="utf-8"))
    data["status"]["processes"] = "failed"
    (failed / "run.json").write_text(json.dumps(data), encoding="utf-8")
    result = run_cli("compare", runs["a"], failed, "--no-html", cwd=tmp_path)
    assert "profkit: warning: processes: the mode failed in B: its timings may be partial" in result.stderr


@pytest.mark.timeout(240)
def test_no_common_mode_is_a_usage_error(runs, tmp_path):
    threads = tmp_path / "threads"
    made = run_cli("profile", runs["target"], "--modes", "threads", "--workers", "2", "--repeat", "2",
                   "--line-budget", "0.01", "-q", "--out", threads, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    error = one_line_error(run_cli("compare", runs["a"], threads, cwd=tmp_path))
    assert "no mode in common" in error and "sequential, processes" in error and "threads" in error


@pytest.mark.timeout(240)
def test_a_mode_without_timings_in_b_fails_the_threshold(runs, tmp_path):
    import pandas as pd

    broken = tmp_path / "broken"
    shutil.copytree(runs["a2"], broken)
    timings = pd.read_parquet(broken / "frames" / "timings.parquet")
    keep = ~((timings["mode"] == "processes") & (timings["phase"] == "map"))
    timings[keep].to_parquet(broken / "frames" / "timings.parquet", index=False)
    data = json.loads((broken / "run.json").read_text(encoding="utf-8"))
    data["status"]["processes"] = "failed"
    (broken / "run.json").write_text(json.dumps(data), encoding="utf-8")
    result = run_cli("compare", runs["a"], broken, "--fail-above", "1000", "--no-html", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "processes: no timings in run B (status failed): not compared" in result.stderr
    assert "processes has no timings in B (status failed): it cannot pass --fail-above" in result.stderr
    assert run_cli("compare", runs["a"], broken, "--no-html", cwd=tmp_path).returncode == 0
