"""scripts/bench.py --quick runs end to end, reports every figure with its target, and saves pyperf JSON."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require
from tests.fixtures.scripts import load_script

pyperf = require("pyperf")  # the bench's statistics and JSON
REPO = Path(__file__).resolve().parents[2]
FIGURES = ("timing_fidelity", "cprofile_overhead", "pooled_fidelity", "end_to_end",
           "report_rendering", "startup", "memory", "under_load", "gate_false_alarms", "gate_detection")


@pytest.mark.timeout(300)
def test_quick_bench_reports_every_figure(tmp_path):
    out = tmp_path / "tmp" / "bench.json"
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "bench.py"), "--quick", "--json", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=280)
    assert out.is_file(), proc.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    figures = data["figures"]
    assert set(FIGURES) <= set(figures)
    for name in FIGURES:
        figure = figures[name]
        for key in ("measured", "target", "met", "verdict"):
            assert key in figure, (name, key)
        assert figure["verdict"] in ("met", "missed", "error"), name
        assert figure["error"] is None, (name, figure["error"], proc.stderr[-3000:])
        assert isinstance(figure["measured"], (int, float)), name
        assert isinstance(figure["target"], (int, float)), name
        assert isinstance(figure["met"], bool), name
        assert figure["verdict"] == ("met" if figure["met"] else "missed"), name
    # a missed target is a report, not a failure; a crash is a failure
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert data["quick"] is True
    machine = data["machine"]
    assert machine["cores_available"] >= 1 and machine["python"] and machine["cpu_model"]
    assert data["raw"]["rounds"], "the raw numbers of each round are kept"
    for name in FIGURES:
        assert f"{figures[name]['verdict']}" in proc.stdout
    # every repeated measurement is also a pyperf benchmark; pyperf's median of the bare serial
    # map is the median of the raw repeats the bench kept
    suite = pyperf.BenchmarkSuite.load(data["pyperf_json"])
    names = set(suite.get_benchmark_names())
    assert {"bare serial map", "profkit sequential map", "start-up profkit_help"} <= names, names
    raw_serial = [v for r in data["raw"]["rounds"] for v in r["bare"]["serial_s"]]
    assert suite.get_benchmark("bare serial map").median() == pytest.approx(statistics.median(raw_serial))
    assert f"{Path(data['pyperf_json']).name}" in proc.stdout
    header = proc.stdout.splitlines()
    assert any(line.startswith("figure") and "measured" in line and "target" in line and "verdict" in line
               for line in header)


def test_bench_json_is_written_in_the_working_folder_by_default():
    """``--json`` defaults to bench.json in the current folder (checked without running the bench)."""
    bench = load_script("bench")
    args = bench.parse_args([])
    assert args.json == "bench.json" and args.rounds is None and not args.quick
    assert bench.make_config(args).rounds == 3
    assert bench.make_config(bench.parse_args(["--quick"])).rounds == 1


def test_bench_statistics_are_pyperf_s_and_its_json_compares(tmp_path):
    """Medians and quartiles agree with the textbook ones; two saved suites compare with pyperf."""
    stats = load_script("bench_stats")
    values = [0.31, 0.12, 0.25, 0.2, 0.41, 0.33]
    assert stats.median(values) == statistics.median(values)
    assert stats.median([0.0, -1.0, 2.0]) == 0.0  # not a timing series: the plain median
    assert stats.median([None]) is None
    q1, q3 = stats.quartiles(values)
    ordered = sorted(values)  # linear interpolation between order statistics, as numpy's default
    assert q1 == pytest.approx(ordered[1] + 0.25 * (ordered[2] - ordered[1]))
    assert q3 == pytest.approx(ordered[3] + 0.75 * (ordered[4] - ordered[3]))
    assert stats.quartiles(values[:3]) is None
    old = stats.suite({"map": (values, "second"), "rss": ([1e6, 2e6], "byte"), "none": ([0.0], "second")})
    assert sorted(old.get_benchmark_names()) == ["map", "rss"]
    new = stats.suite({"map": ([2 * v for v in values], "second"), "rss": ([1e6, 2e6], "byte")})
    old.dump(str(tmp_path / "old.json"))
    new.dump(str(tmp_path / "new.json"))
    table = stats.compare(tmp_path / "old.json", tmp_path / "new.json")
    assert "map" in table and "2.00x slower" in table
