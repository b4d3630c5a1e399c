"""scripts/bench.py --quick runs end to end and reports all seven figures with their targets."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

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
    header = proc.stdout.splitlines()
    assert any(line.startswith("figure") and "measured" in line and "target" in line and "verdict" in line
               for line in header)


def test_bench_json_is_written_in_the_working_folder_by_default():
    """``--json`` defaults to bench.json in the current folder (checked without running the bench)."""
    spec = importlib.util.spec_from_file_location("profkit_bench_script", REPO / "scripts" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules[spec.name]
    args = bench.parse_args([])
    assert args.json == "bench.json" and args.rounds is None and not args.quick
    assert bench.make_config(args).rounds == 3
    assert bench.make_config(bench.parse_args(["--quick"])).rounds == 1
