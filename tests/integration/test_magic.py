"""%profkit in a real IPython InteractiveShell, on functions defined in the shell's __main__."""

from __future__ import annotations

import os
import pstats
import sys

import pytest

from tests.conftest import require
from tests.fixtures.ipython import F_SOURCE, expected, notebook_shell, run_cell

require("IPython")

pytestmark = pytest.mark.timeout(240)

ITEMS = [60_000, 20_000, 50_000, 30_000, 40_000, 10_000]


@pytest.fixture(scope="module")
def shell():
    with notebook_shell() as sh:
        run_cell(sh, F_SOURCE)
        sh.user_ns["sizes"] = ITEMS
        yield sh


def _calls(stats: pstats.Stats, name: str) -> list[tuple[tuple[str, int, str], int]]:
    return [(key, value[1]) for key, value in stats.stats.items() if key[2] == name]


def _check_f(run, mode: str, items: list[int]) -> None:
    """The mode's merged cProfile holds f's calls, one per item, from the shell's cell."""
    calls = _calls(run.profiles[mode], "f")
    assert len(calls) == 1, calls
    (filename, _, _), ncalls = calls[0]
    assert ncalls == len(items)
    assert filename.startswith("<ipython-input") or "ipykernel" in filename or filename.endswith(".py")
    tasks = run.tasks[run.tasks["mode"] == mode]
    assert sorted(tasks["item"]) == list(range(len(items)))
    # the results, checked against the bare function computed here
    assert {int(i): r for i, r in zip(tasks["item"], tasks["result_repr"], strict=True)} == \
        {i: repr(expected(n)) for i, n in enumerate(items)}


def test_function_defined_in_shell_runs_in_every_local_mode(shell, tmp_path, capsys):
    out = tmp_path / "run"
    run = run_cell(shell, f'%profkit -f f -i "[60_000, 20_000, 50_000, 30_000, 40_000, 10_000]" '
                          f'--modes sequential,threads,processes --workers 2 --repeat 2 '
                          f'--line-budget 0.05 --out {out} -q')
    from profkit.run import Run

    assert isinstance(run, Run)
    assert run.meta.status == {"sequential": "ok", "threads": "ok", "processes": "ok"}
    assert run.meta.workload.task == "__main__:f"
    for mode in ("sequential", "threads", "processes"):
        _check_f(run, mode, ITEMS)
    # processes: f ran in the workers, not here, and their stats were merged into one profile
    workers = set(run.tasks[run.tasks["mode"] == "processes"]["pid"])
    assert os.getpid() not in workers
    assert (out / "profiles" / "processes.prof").is_file()
    printed = capsys.readouterr().out  # -q: quiet, as on the command line; IPython shows Out[n]
    assert "profkit:" not in printed and "run folder" not in printed
    assert run.path == out


def test_items_come_from_the_user_namespace(shell, tmp_path, capsys):
    out = tmp_path / "r"
    run = run_cell(shell, f"%profkit -f f -i sizes[:3] --modes sequential --repeat 1 "
                          f"--line-budget 0.05 --out {out}")
    assert run.meta.workload.n_items == 3
    assert run.meta.workload.name == "f"
    assert f"profkit: run folder {out} (report: {out / 'index.html'})" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawned_workers_get_the_function_by_value(shell, tmp_path, method):
    """Workers that do not inherit __main__ get f through cloudpickle, and profile f itself."""
    run = run_cell(shell, f"%profkit -f f -i sizes --modes processes,pool --workers 2 --repeat 1 "
                          f"--start-method {method} --line-budget 0.05 --out {tmp_path / 'r'} -q")
    assert run.meta.status == {"processes": "ok", "pool": "ok"}, run.meta.errors
    for mode in ("processes", "pool"):
        _check_f(run, mode, ITEMS)
        assert not [k for k in run.profiles[mode].stats if k[2] in ("__call__", "_load")]


def test_a_mode_that_cannot_ship_the_function_fails_alone(shell, tmp_path, monkeypatch, capsys):
    """Without cloudpickle, spawned workers cannot get f: that mode fails in one line, sequential runs."""
    monkeypatch.setitem(sys.modules, "cloudpickle", None)
    run_cell(shell, F_SOURCE)  # a new f, never shipped before
    run = run_cell(shell, f"%profkit -f f -i sizes[:2] --modes sequential,processes --repeat 1 "
                          f"--start-method spawn --line-budget 0.05 --out {tmp_path / 'r'} -q")
    assert run.meta.status == {"sequential": "ok", "processes": "failed"}
    error = run.meta.errors["processes"]
    assert "\n" not in error and "__main__" in error and "cloudpickle" in error
    assert f"profkit: {error}" in capsys.readouterr().err


def test_cell_magic_profiles_the_cell_as_the_task(shell, tmp_path):
    run = run_cell(shell, f"%%profkit -i sizes[:4] --modes sequential,processes --repeat 1 "
                          f"--line-budget 5 --out {tmp_path / 'r'} -q\n"
                          "total = 0\nfor i in range(item):\n    total += i * i\ntotal\n")
    assert run.meta.status == {"sequential": "ok", "processes": "ok"}
    results = run.tasks[run.tasks["mode"] == "processes"].sort_values("item")
    assert run.meta.workload.n_items == 4
    lines = run.lines[run.lines["mode"] == "processes"]
    assert "total += i * i" in set(lines["source"].str.strip())
    assert shell.user_ns["profkit_cell"](10) == expected(10)
    assert list(results["result_repr"]) == [repr(expected(n)) for n in ITEMS[:4]]


def test_target_form_takes_the_cli_options(shell, tmp_path):
    run = run_cell(shell, f"%profkit double --modes sequential --repeat 1 --out {tmp_path / 'r'} -q")
    assert run.meta.workload.name == "double"


@pytest.mark.parametrize(("line", "message"), [
    ("%profkit", "give a TARGET"),
    ("%profkit -f f", "-f needs the items"),
    ('%profkit -f nosuch -i "[1]"', "NameError"),
    ('%profkit -f f -i "[1]" --modes bogus', "unknown mode 'bogus'"),
    ("%profkit --no-such-flag", "unrecognized arguments"),
])
def test_mistakes_are_one_line_usage_errors(shell, line, message):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match=message) as info:
        run_cell(shell, line)
    assert "\n" not in str(info.value)


def test_dask_mode_runs_a_notebook_function(shell, tmp_path):
    require("distributed")
    run = run_cell(shell, f"%profkit -f f -i sizes --modes sequential,dask:2 --repeat 1 "
                          f"--line-budget 0.05 --out {tmp_path / 'r'} -q")
    assert run.meta.status == {"sequential": "ok", "dask": "ok"}, run.meta.errors
    _check_f(run, "dask", ITEMS)


def test_a_changed_notebook_global_reaches_the_next_run(shell, tmp_path):
    """Shipping by value captures globals: each run ships anew, so the workers see the new value."""
    run_cell(shell, "K = 1\ndef scaled(n):\n    return n * K\n")
    line = ('%profkit -f scaled -i "[1, 2, 3]" --modes sequential,processes --repeat 1 '
            "--start-method spawn --line-budget 0.05 -q --out {out}")
    results = []
    for k, name in ((1, "a"), (10, "b")):
        run_cell(shell, f"K = {k}")
        run = run_cell(shell, line.format(out=tmp_path / name))
        tasks = run.tasks[run.tasks["mode"] == "processes"].sort_values("item")
        results.append(list(tasks["result_repr"]))
    assert results == [["1", "2", "3"], ["10", "20", "30"]]


def test_help_lists_the_cli_options_and_the_notebook_ones(shell, capsys):
    assert run_cell(shell, "%profkit -h") is None
    text = capsys.readouterr().out
    for flag in ("--modes", "--repeat", "--precision", "--start-method", "-f FUNC", "-i EXPR"):
        assert flag in text
