"""Options are written once: each field of ``Options`` gives its flag, its ``[tool.profkit]`` key,
its API keyword, its check and its run.json name, and a bad value gets one message wherever
it was given."""

from __future__ import annotations

import argparse
import ast
import dataclasses
from pathlib import Path

import pytest

import profkit
from profkit.cli import build_parser, main
from profkit.config import FILE_KEYS, KEYS, load_config
from profkit.errors import UsageError
from profkit.options import GIVEN, SPECS, Options, build_options, record_kinds
from profkit.store import FIELD_KINDS
from profkit.workloads.double import WORKLOAD as DOUBLE

ROOT = Path(__file__).resolve().parents[2] / "profkit"


def _flags(command: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {s for a in sub.choices[command]._actions for s in a.option_strings}


def test_every_option_is_a_field_with_a_spec_and_a_check():
    names = {f.name for f in dataclasses.fields(Options)}
    assert {f.name for f, _ in SPECS} == names
    for key, (f, spec) in GIVEN.items():
        assert spec.check is not None and spec.help, key
        assert f.name in names


@pytest.mark.parametrize("command", ["profile", "ab"])
def test_every_option_with_a_flag_is_a_flag_of_the_commands_that_run(command):
    flags = _flags(command)
    wanted = {spec.flag_name for _, spec in GIVEN.values() if spec.flag}
    assert wanted <= flags, wanted - flags
    # the API-only ones (seed) have no flag
    assert {spec.flag_name for _, spec in GIVEN.values() if not spec.flag}.isdisjoint(flags)


def test_the_config_keys_are_the_options_plus_the_file_keys():
    assert set(KEYS) == {k for k, (_, s) in GIVEN.items() if s.config} | set(FILE_KEYS)
    for key, types in KEYS.items():
        if key in GIVEN:
            assert types == GIVEN[key][1].config


def test_no_flag_of_an_option_is_declared_outside_the_options():
    """argparse flags for options come from profkit.options.add_flags, nowhere else.

    ``profkit run`` takes none of profile's options: its own ``--lines`` is a switch.
    """
    option_flags = {spec.flag_name for _, spec in GIVEN.values()}
    found = []
    commands = [p for p in (ROOT / "cli").glob("*.py") if p.name != "run_cmd.py"]
    for path in [*commands, ROOT / "magic.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value in option_flags):
                found.append(f"{path.name}: {node.args[0].value}")
    assert found == []


def test_run_json_options_come_from_the_fields():
    record = Options().to_json()
    recorded = {s.record for _, s in SPECS if s.record}
    assert set(record) == recorded | {"warmups"}
    # the keys the report and other readers of run.json use
    assert recorded >= {"modes", "repeat", "precision", "min_rounds", "max_rounds", "max_rounds_s",
                        "spoiled_cores", "line_functions", "line_budget_s", "profile_budget_s",
                        "memory_line_functions", "memory_line_budget_s", "memory_interval_s",
                        "start_method", "timeout_s", "chunksize", "sweep", "scheduler", "gc"}
    assert FIELD_KINDS["options"] == {**record_kinds(), "warmups": "int"}
    assert set(FIELD_KINDS["options"]) <= set(record)


def test_the_record_writes_the_values_as_given():
    options = build_options({"modes": "sequential,threads:2", "repeat": "auto", "chunksize": "auto",
                             "gc": "on", "timeout": "5", "lines": "a, b,a", "max_time": None})
    record = options.to_json()
    assert record["modes"] == ["sequential", "threads:2"]
    assert (record["repeat"], record["chunksize"], record["gc"]) == ("auto", "auto", "on")
    assert record["timeout_s"] == 5.0 and record["line_functions"] == ["a", "b"]
    assert record["max_rounds_s"] == float("inf")
    fixed = build_options({"repeat": 4, "chunksize": 3, "gc": "off"}).to_json()
    assert (fixed["repeat"], fixed["chunksize"], fixed["gc"]) == (4, 3, "off")


def test_defaults_apply_when_not_given_and_a_given_value_wins():
    assert build_options().max_rounds_s == 4.0
    assert build_options(defaults={"max_time": 10}).max_rounds_s == 10.0
    assert build_options({"max_time": 2}, defaults={"max_time": 10}).max_rounds_s == 2.0
    options = build_options({"workers": 2, "max_rounds": 2})
    assert [str(m) for m in options.modes] == ["sequential", "threads:2", "processes:2"]
    assert options.min_rounds == 2  # never more than max_rounds


#: (key, the flag's text, the TOML value, the API value, the message after the name)
BAD = [
    ("timeout", "0", "0", 0, " must be > 0, got 0"),
    ("timeout", "inf", "inf", float("inf"), " must be a finite number of seconds, got inf: leave "
     "it off for no limit"),
    ("workers", "0", "0", 0, " must be >= 1, got 0"),
    ("workers", "100000", "100000", 100000, ": 100000 workers are too many"),
    ("repeat", "lots", '"lots"', "lots", " must be a whole number >= 1 or auto, got 'lots'"),
    ("precision", "2", '"2"', "2", " must be above 0 and below 1 (100%), got '2'"),
    ("max_rounds", "0", "0", 0, " must be >= 1, got 0"),
    ("max_time", "-1", "-1", -1, " must be > 0, got -1"),
    ("memory_line_budget", "-1", "-1", -1, " must be > 0, got -1"),
    ("chunksize", "big", '"big"', "big", " must be a whole number >= 1 or auto, got 'big'"),
    ("line_budget", "soon", '"soon"', "soon", " must be a number of seconds, 'auto' or 'all', "
     "got 'soon'"),
    ("gc", "maybe", '"maybe"', "maybe", " must be 'on' or 'off', got 'maybe'"),
    ("start_method", "thread", '"thread"', "thread", " must be one of fork, forkserver, spawn, "
     "got 'thread'"),
    ("scheduler", " ", '" "', " ", " must be a scheduler address tcp://HOST:PORT, got ' '"),
]


@pytest.mark.parametrize("key, flag_text, toml, api, message", BAD, ids=[f"{b[0]}={b[1]}" for b in BAD])
def test_a_bad_value_gets_one_message_from_the_flag_the_config_and_the_api(
        tmp_path, monkeypatch, capsys, key, flag_text, toml, api, message):
    flag = GIVEN[key][1].flag_name
    monkeypatch.chdir(tmp_path)
    # the flag, in the CLI's own process: exit 2 and one line
    assert main(["profile", "double", f"{flag}={flag_text}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"profkit: error: {flag}{message}"), err
    # the API names it by its flag too
    with pytest.raises(UsageError) as api_error:
        profkit.profile(DOUBLE, out=tmp_path / "run", **{key: api})
    assert str(api_error.value).startswith(f"{flag}{message}")
    # [tool.profkit]: the same message, naming the file and the key, for every command
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.profkit]\n{key} = {toml}\n", encoding="utf-8")
    with pytest.raises(UsageError) as config_error:
        load_config(tmp_path)
    assert str(config_error.value).startswith(f"{pyproject}: [tool.profkit] {key}{message}")
    assert main(["list"]) == 2
    assert f"[tool.profkit] {key}{message}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]  # no run began


def test_a_flag_wins_over_the_config_and_is_checked_as_a_flag(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text("[tool.profkit]\nrepeat = 2\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "double", "--repeat", "0"]) == 2
    assert capsys.readouterr().err == "profkit: error: --repeat must be >= 1, got 0\n"


def test_the_api_takes_options_or_keywords_not_both(tmp_path):
    with pytest.raises(UsageError, match="not both"):
        profkit.profile(DOUBLE, options=build_options(), repeat=1)
    with pytest.raises(UsageError, match="options must be a profkit Options"):
        profkit.profile(DOUBLE, options={"repeat": 1})  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="has no option 'timout': did you mean timeout"):
        profkit.profile(DOUBLE, timout=1)
    with pytest.raises(UsageError, match="profkit ab does not sweep"):
        profkit.ab(DOUBLE, DOUBLE, sweep=True)
    assert list(tmp_path.iterdir()) == []


def test_a_misspelt_lines_name_in_a_file_target_names_the_file(tmp_path):
    """The message names the user's file, not the module name profkit imported it under."""
    from profkit.options import check_line_names
    from profkit.workloads.model import Workload
    from profkit.workloads.registry import load_file_module

    file = tmp_path / "wl_names.py"
    file.write_text("def crunch(n):\n    return n\n")
    module = load_file_module(str(file))
    workload = Workload("crunch", module.crunch, [1, 2])
    with pytest.raises(UsageError) as refused:
        check_line_names(workload, ["nosuch"], "--lines")
    message = str(refused.value)
    assert f"{file.resolve()} has no attribute 'nosuch'" in message
    assert module.__name__ not in message


def test_a_precision_with_a_fixed_round_count_is_refused_not_ignored(tmp_path, monkeypatch, capsys):
    """--precision says when --repeat auto stops: with --repeat N it would change nothing, so
    the run is refused with one line, from the CLI and the API; a project-wide precision in
    [tool.profkit] still lets one run ask for N rounds."""
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "double", "--repeat", "3", "--precision", "5%"]) == 2
    err = capsys.readouterr().err
    assert err == ("profkit: error: --precision sets when --repeat auto stops, but --repeat asks "
                   "for exactly 3 rounds: drop one of them\n"), err
    with pytest.raises(UsageError, match="drop one of them"):
        profkit.profile(DOUBLE, out=tmp_path / "run", repeat=2, precision=0.05)
    assert not (tmp_path / "run").exists()
    options = build_options({"precision": 0.05, "repeat": 2},
                            where={"precision": "pyproject.toml: [tool.profkit] precision"})
    assert options.repeat == 2 and options.precision == 0.05
