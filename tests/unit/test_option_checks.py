"""Option values are checked once, the same way from a flag, ``[tool.profkit]`` and the API."""

from __future__ import annotations

import pytest

import profkit
from profkit.errors import ProfkitError, UsageError
from profkit.executors.registry import parse_positive_int
from profkit.workloads.double import WORKLOAD as DOUBLE
from tests.fixtures.cli import one_line_error, run_main


@pytest.mark.parametrize("content, needles", [
    ('repeat = "lots"', ["[tool.profkit] repeat", "whole number", "auto", "'lots'"]),
    ('chunksize = "lots"', ["[tool.profkit] chunksize", "whole number", "auto", "'lots'"]),
    ("modes = []", ["[tool.profkit] modes", "no modes given"]),
    ('modes = ""', ["[tool.profkit] modes", "no modes given"]),
    ('modes = ["sequentail"]', ["[tool.profkit] modes", "did you mean 'sequential'"]),
])
def test_a_bad_config_value_is_one_line_naming_the_key(tmp_path, content, needles):
    """``repeat = "lots"`` is one line, not a TypeError traceback; ``modes = []`` is refused, not
    read as the default modes."""
    (tmp_path / "pyproject.toml").write_text(f"[tool.profkit]\n{content}\n")
    for args in (["profile", "double"], ["list"]):
        one_line_error(run_main(*args, cwd=tmp_path), "pyproject.toml", *needles)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]  # no run began


def test_empty_modes_are_refused_alike_from_the_flag_and_the_config(tmp_path):
    flag = one_line_error(run_main("profile", "double", "--modes", "", cwd=tmp_path))
    (tmp_path / "pyproject.toml").write_text("[tool.profkit]\nmodes = []\n")
    config = one_line_error(run_main("profile", "double", cwd=tmp_path))
    assert flag.endswith("no modes given: use for example --modes sequential,threads,processes")
    assert config.endswith(flag.removeprefix("profkit: error: "))


@pytest.mark.parametrize("option, value", [
    ("repeat", True), ("repeat", 2.5), ("chunksize", 2.5), ("chunksize", True),
    ("workers", True), ("workers", 1.5), ("max_rounds", 3.5), ("max_rounds", False),
])
def test_the_api_refuses_a_bool_or_a_fraction_where_a_count_belongs(tmp_path, option, value):
    """``repeat=True`` would silently run one round and ``chunksize=2.5`` run with 2: both refused."""
    flag = option.replace("_", "-")
    with pytest.raises(ProfkitError, match=f"--{flag} must be a whole number.*got {value!r}"):
        profkit.profile(DOUBLE, modes="sequential", out=tmp_path / "run", **{option: value})
    assert list(tmp_path.iterdir()) == []


def test_whole_numbers_still_pass_in_every_spelling():
    import numpy as np

    for value in (3, "3", " 3 ", 3.0, np.int64(3)):
        assert parse_positive_int(value, "--repeat") == 3
    for bad in (0, "0", -1, "x", None, [3], float("inf"), float("nan")):
        with pytest.raises(UsageError, match="--repeat"):
            parse_positive_int(bad, "--repeat")
