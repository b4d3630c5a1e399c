"""``--chunksize N|auto`` in the CLI, in ``[tool.profkit]`` and in the API."""

from __future__ import annotations

import json

import pytest

from profkit.errors import UsageError
from profkit.options import parse_chunksize
from profkit.pipeline import profile
from profkit.workloads.double import WORKLOAD as DOUBLE
from tests.fixtures.cli import run_cli, run_main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

QUICK = ("--repeat", "2", "--line-budget", "0.01", "--workers", "2")


def test_parse_chunksize():
    assert parse_chunksize(None) == (None, False)
    assert parse_chunksize("auto") == (None, True)
    assert parse_chunksize(" AUTO ") == (None, True)
    assert parse_chunksize("7") == (7, False)
    assert parse_chunksize(7) == (7, False)
    for bad in ("0", "-3", "many"):
        with pytest.raises(UsageError, match="--chunksize"):
            parse_chunksize(bad)


def test_api_chunksize_auto_batches_tiny_tasks():
    run = profile(DOUBLE, modes="sequential,processes,pool", workers=2, repeat=2,
                  chunksize="auto", line_budget=0.01)
    assert run.meta.options["chunksize"] == "auto"
    for mode in ("processes", "pool"):
        assert run.meta.modes[mode].pool["chunksize"] == 125  # 1000 items, 4 per worker
        assert run.meta.modes[mode].chunksize == 125


def test_api_chunksize_number_reaches_the_schedule():
    run = profile(DOUBLE, modes="sequential,processes", workers=2, repeat=2, chunksize=50,
                  line_budget=0.01)
    assert run.meta.modes["processes"].pool["chunksize"] == 50
    assert run.analysis.modes["processes"].bounds.chunksize == 50


def test_cli_chunksize_auto_and_bad_values(tmp_path):
    out = tmp_path / "run"
    result = run_cli("profile", "double", "--modes", "sequential,processes", "--chunksize", "auto",
                     "--out", out, *QUICK, timeout=240)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "run.json").read_text())
    assert data["options"]["chunksize"] == "auto"
    assert data["modes"]["processes"]["pool"]["chunksize"] == 125
    bad = run_main("profile", "double", "--chunksize", "lots")
    assert bad.returncode == 2 and "--chunksize" in bad.stderr


def test_config_chunksize(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.profkit]\nchunksize = "auto"\n')
    out = tmp_path / "run"
    result = run_cli("profile", "double", "--modes", "sequential,pool", "--out", out, *QUICK,
                     cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "run.json").read_text())
    assert data["modes"]["pool"]["pool"]["chunksize"] == 125
    (tmp_path / "pyproject.toml").write_text("[tool.profkit]\nchunksize = 10\n")
    out2 = tmp_path / "run2"
    result = run_cli("profile", "double", "--modes", "sequential,processes", "--out", out2, *QUICK,
                     cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr
    data = json.loads((out2 / "run.json").read_text())
    assert data["modes"]["processes"]["pool"]["chunksize"] == 10
