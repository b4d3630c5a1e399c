"""A recommendation that only the worker sweep measured: the console and the report show its
row and say where its figures come from, and the profile pointer names the configuration it
profiles (the sweep times its points, it never profiles them)."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fixtures.cli import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

NAPS = '''
import time
import profkit


def nap(x):
    time.sleep(0.05)
    return x


SL = profkit.Workload("sl", nap, list(range(8)))
'''


def _nap(x: int) -> int:
    time.sleep(0.05)
    return x


def test_a_recommended_sweep_point_has_its_row_and_no_borrowed_profile(tmp_path):
    (tmp_path / "sl.py").write_text(NAPS)
    out = tmp_path / "run"
    result = run_cli("profile", "sl.py:SL", "--modes", "sequential,threads", "--sweep",
                     "--repeat", "2", "--out", out, cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr
    analysis = json.loads((out / "run.json").read_text())["analysis"]
    rec, main_workers = analysis["recommendation"], analysis["modes"]["threads"]["workers"]
    assert rec["mode"] == "threads" and rec["workers"] > main_workers  # waits overlap: more wins
    point = rec["sweep_point"]
    assert (point["mode"], point["workers"]) == ("threads", rec["workers"])
    text = result.stdout
    row = next(line for line in text.splitlines() if re.match(rf"threads\s+{rec['workers']}\s+sweep", line))
    with ThreadPoolExecutor(rec["workers"]) as pool:  # the bare map, timed here
        list(pool.map(_nap, range(8)))
        t0 = time.perf_counter()
        list(pool.map(_nap, range(8)))
        bare = time.perf_counter() - t0
    median_ms = float(re.search(r"([\d.]+) ms", row).group(1))
    assert median_ms / 1000 == pytest.approx(bare, rel=0.3), (row, bare)
    assert (f"threads with {rec['workers']} workers ran only in the worker sweep: its figures "
            "are the sweep's") in text
    snakeviz = next(line for line in text.splitlines() if line.startswith("snakeviz:"))
    assert snakeviz.endswith(f"(the profile of threads with {main_workers} workers)"), snakeviz
    html = (out / "index.html").read_text()
    assert 'id="rec-sweep-source"' in html and "timed, not profiled" in html
