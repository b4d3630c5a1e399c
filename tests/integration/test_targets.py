"""Workload targets: files outside the project, package.module:name, and every bad target."""

from __future__ import annotations

import json
import pickle
import pstats

import pytest

import profkit
from tests.fixtures import counting
from tests.fixtures.cli import cli_env, copy_fixture, one_line_error, run_cli, run_main

PROFILE_ARGS = ("--modes", "sequential,processes", "--workers", "2", "--repeat", "2",
                "--line-budget", "0.01", "-q")


def _calls(prof, filename, name: str) -> int:
    """Calls of ``name`` defined in ``filename``, from a saved pstats file."""
    stats = pstats.Stats(str(prof)).stats
    found = [nc for (file, _, func), (_, nc, _, _, _) in stats.items()
             if func == name and file == str(filename)]
    assert len(found) == 1, (name, [k for k in stats if k[2] == name])
    return found[0]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
@pytest.mark.parametrize("name, items", [("WORKLOAD", counting.ITEMS), ("decorated", [2, 4, 6])])
def test_file_outside_the_project_profiles_in_workers(tmp_path, start_method, name, items):
    workload = copy_fixture("counting.py", tmp_path)
    out = tmp_path / "run"
    result = run_cli("profile", f"{workload}:{name}", *PROFILE_ARGS, "--start-method", start_method,
                     "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    task = "task" if name == "WORKLOAD" else "decorated"
    for mode in ("processes", "sequential"):
        prof = out / "profiles" / f"{mode}.prof"
        assert _calls(prof, workload, task) == len(items)
        assert _calls(prof, workload, "helper") == counting.HELPER_CALLS * len(items)
    meta = (out / "run.json").read_text(encoding="utf-8")
    assert f'"start_method": "{start_method}"' in meta


@pytest.mark.timeout(120)
def test_package_module_target_from_pythonpath(tmp_path):
    root = copy_fixture("pkgroot", tmp_path)
    out = tmp_path / "run"
    result = run_cli("profile", "profkit_test_pkg.jobs:SQUARES", *PROFILE_ARGS, "--start-method", "spawn",
                     "--out", out, cwd=tmp_path, env=cli_env([root]))
    assert result.returncode == 0, result.stderr
    prof = out / "profiles" / "processes.prof"
    assert _calls(prof, root / "profkit_test_pkg" / "jobs.py", "square") == 8


def test_decorator_returns_the_function_itself_and_it_pickles_by_reference():
    def plain(x):
        return x

    assert profkit.workload(items=[1, 2])(plain) is plain
    assert plain.__profkit_workload__.items == [1, 2]
    assert plain.__profkit_workload__.name == "plain"

    registered = counting.decorated.__profkit_workload__
    assert registered.task is counting.decorated
    assert registered.description.startswith("decorated task")
    data = pickle.dumps(counting.decorated)
    assert b"tests.fixtures.counting" in data and b"decorated" in data
    assert pickle.loads(data) is counting.decorated
    assert counting.decorated(2) == sum(counting.helper(2 * k) for k in range(3))  # still callable


# -- bad targets: one line on stderr, exit 2, no traceback ------------------------


@pytest.fixture
def files(tmp_path):
    return {name: copy_fixture(f"{name}.py", tmp_path) for name in ("counting", "bad_tasks", "import_error")}


@pytest.mark.timeout(120)
def test_missing_file(tmp_path):
    error = one_line_error(run_main("profile", f"{tmp_path / 'nope.py'}:WORKLOAD", cwd=tmp_path))
    assert "not found" in error and "nope.py" in error


@pytest.mark.timeout(120)
def test_import_error_names_the_line(tmp_path, files):
    error = one_line_error(run_main("profile", f"{files['import_error']}:WORKLOAD", cwd=tmp_path))
    assert "line 5" in error and "RuntimeError" in error and "broken on purpose" in error


@pytest.mark.timeout(120)
def test_syntax_error_names_the_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import profkit\n\ndef task(x:\n    return x\n", encoding="utf-8")
    error = one_line_error(run_main("profile", f"{broken}:WORKLOAD", cwd=tmp_path))
    assert "SyntaxError" in error and "line 3" in error


@pytest.mark.timeout(120)
def test_missing_name_suggests_a_close_one(tmp_path, files):
    error = one_line_error(run_main("profile", f"{files['counting']}:WORKLOD", cwd=tmp_path))
    assert "has no name 'WORKLOD'" in error and "WORKLOAD" in error


@pytest.mark.timeout(120)
def test_name_that_is_not_a_workload(tmp_path, files):
    error = one_line_error(run_main("profile", f"{files['counting']}:NOT_A_WORKLOAD", cwd=tmp_path))
    assert "is a int, not a workload" in error


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["LAMBDA", "NESTED"])
def test_lambda_and_nested_task_run_in_processes_by_value(tmp_path, files, name):
    result = run_cli("profile", f"{files['bad_tasks']}:{name}", "--modes", "sequential,processes",
                     "--repeat", "1", "--out", tmp_path / "run", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = json.loads((tmp_path / "run" / "run.json").read_text())["status"]
    assert status == {"sequential": "ok", "processes": "ok"}


@pytest.mark.timeout(120)
def test_task_nothing_can_ship_fails_only_the_process_modes(tmp_path, files):
    result = run_cli("profile", f"{files['bad_tasks']}:LOCKED", "--modes",
                     "sequential,threads,processes", "--repeat", "1", "--out", tmp_path / "run",
                     "-q", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "profkit: 1 mode failed: processes;" in result.stderr
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["status"] == {"sequential": "ok", "threads": "ok", "processes": "failed"}
    error = meta["errors"]["processes"]
    assert "\n" not in error and "make_locked.<locals>.locked_task" in error
    assert "_thread.lock" in error and "module level" in error


@pytest.mark.timeout(120)
def test_unknown_builtin_suggests_the_closest(tmp_path):
    error = one_line_error(run_main("profile", "prims", cwd=tmp_path))
    assert "unknown workload 'prims'" in error and "did you mean primes" in error


@pytest.mark.timeout(120)
def test_unknown_module(tmp_path):
    error = one_line_error(run_main("profile", "no_such_package_xyz.jobs:WORK", cwd=tmp_path))
    assert "no module named 'no_such_package_xyz.jobs'" in error


@pytest.mark.timeout(180)
def test_ab_closing_line_says_per_side_how_each_mode_ended(tmp_path, files):
    target = f"{files['bad_tasks']}:LOCKED"
    result = run_cli("ab", target, target, "--modes", "sequential,processes", "--repeat", "1",
                     "--out", tmp_path / "ab", "-q", cwd=tmp_path, timeout=170)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "(s)" not in result.stderr
    assert "profkit: A: 1 mode failed: processes; B: 1 mode failed: processes; see " in result.stderr


@pytest.mark.timeout(120)
def test_a_warning_from_the_user_s_code_is_shown_as_theirs_not_profkit_s(tmp_path):
    """A target that warns on import: the warning names its file, line and category; only
    profkit's own warnings say 'profkit: warning:'."""
    target = tmp_path / "warns_on_import.py"
    target.write_text("import warnings\n\nwarnings.warn('this module is deprecated, use newmod')\n",
                      encoding="utf-8")
    result = run_main("profile", f"{target}:WORKLOAD", cwd=tmp_path)
    assert result.returncode == 2
    shown = [line for line in result.stderr.splitlines() if "deprecated, use newmod" in line]
    assert shown == [f"{target}:3: UserWarning: this module is deprecated, use newmod"], result.stderr
