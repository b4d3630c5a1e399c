"""The Python API (Workload, profile, load, Run) and the [tool.profkit] defaults of the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import profkit
from profkit.frames import COLUMNS, FRAME_NAMES
from tests.fixtures import counting
from tests.fixtures.cli import REPO, cli_env, copy_fixture, run_cli, run_main


def test_public_names():
    """Each public name resolves to the object its module defines, and the version is the packaged one."""
    from profkit.errors import ProfkitError
    from profkit.pipeline import profile
    from profkit.run import Run, load
    from profkit.workloads.model import Workload, workload

    defined = {"Workload": Workload, "workload": workload, "profile": profile, "load": load, "Run": Run,
               "ProfkitError": ProfkitError}
    for name, obj in defined.items():
        assert name in profkit.__all__
        assert getattr(profkit, name) is obj, name
    missing = [name for name in profkit.__all__ if not hasattr(profkit, name)]
    assert not missing, missing  # ``from profkit import *`` would fail on these
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "__version__" in profkit.__all__
    assert re.search(r'^version = "([^"]+)"$', pyproject, re.M)[1] == profkit.__version__


def test_workload_items_as_sequence_or_callable():
    wl = profkit.Workload("w", counting.task, [1, 2], description="two items")
    assert (wl.name, wl.task, wl.description) == ("w", counting.task, "two items")
    assert wl.resolve_items() == [1, 2]
    assert counting.LAZY.resolve_items() == counting.ITEMS


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real run of the lazy-items workload, profiled through the API and saved."""
    out = tmp_path_factory.mktemp("api") / "run"
    run = profkit.profile(counting.LAZY, modes="sequential,processes", workers=2, repeat=2, out=out,
                          line_budget=0.01)
    return run, out


@pytest.mark.timeout(120)
def test_profile_without_out_returns_a_run_in_memory(tmp_path):
    run = profkit.profile(counting.WORKLOAD, modes="sequential,threads", workers=2, repeat=2, out=None,
                          line_budget=0.01)
    assert isinstance(run, profkit.Run)
    assert run.path is None and run.complete and run.failed_modes == []
    for name in FRAME_NAMES:
        frame = getattr(run, name)
        assert isinstance(frame, pd.DataFrame)
        assert list(frame.columns) == list(COLUMNS[name])
    assert set(run.timings["mode"]) == {"sequential", "threads"}
    maps = run.timings[run.timings["phase"] == "map"]
    assert maps.groupby("mode").size().to_dict() == {"sequential": 2, "threads": 2}
    assert set(run.tasks["item"]) == set(range(len(counting.ITEMS)))
    assert run.meta.workload.n_items == len(counting.ITEMS)
    assert run.analysis.reference_mode == "sequential"
    assert not any(tmp_path.iterdir())  # nothing written anywhere we look


@pytest.mark.timeout(120)
def test_callable_items_and_out_save_the_run(saved):
    run, out = saved
    assert run.path == out
    assert run.meta.workload.n_items == len(counting.ITEMS)
    for name in ("run.json", "index.html", "profiles/processes.prof", "lines/processes.lprof",
                 *(f"frames/{n}.parquet" for n in FRAME_NAMES)):
        assert (out / name).is_file(), name


@pytest.mark.timeout(120)
def test_save_then_load_gives_equal_frames_and_analysis(saved, tmp_path):
    run, _ = saved
    again = run.save(tmp_path / "copy")
    loaded = profkit.load(again)
    for name in FRAME_NAMES:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(run, name), check_like=False)
    assert loaded.analysis == run.analysis
    assert loaded.meta.workload == run.meta.workload
    assert loaded.path == again
    assert set(loaded.profiles) == set(run.profiles) == {"sequential", "processes"}


@pytest.mark.timeout(120)
def test_to_html_writes_a_report(saved, tmp_path):
    run, _ = saved
    target = run.to_html(tmp_path / "elsewhere" / "report.html")
    html = target.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "counting-lazy" in html
    assert run.to_html(target) == target  # its own report again: replaced
    # nothing profkit did not write is replaced; a folder is named as such
    mine = tmp_path / "mine.py"
    mine.write_text("print('mine')\n", encoding="utf-8")
    with pytest.raises(profkit.ProfkitError, match="exists and is not a profkit report"):
        run.to_html(mine)
    assert mine.read_text(encoding="utf-8") == "print('mine')\n"
    with pytest.raises(profkit.ProfkitError, match="is a folder"):
        run.to_html(tmp_path)


def test_load_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(profkit.ProfkitError, match="is not a profkit run: it has no run.json"):
        profkit.load(tmp_path)
    with pytest.raises(profkit.ProfkitError, match="is not a folder"):
        profkit.load(tmp_path / "missing")


@pytest.mark.timeout(120)
def test_load_refuses_a_newer_format_version(saved, tmp_path):
    _, out = saved
    newer = tmp_path / "newer"
    shutil.copytree(out, newer)
    data = json.loads((newer / "run.json").read_text(encoding="utf-8"))
    data["format_version"] = 999
    (newer / "run.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(profkit.ProfkitError, match="format_version 999, newer than this profkit reads"):
        profkit.load(newer)


# -- [tool.profkit] in pyproject.toml -----------------------------------------------

PYPROJECT = """\
[project]
name = "someone-elses-project"

[tool.profkit]
modes = ["sequential", "threads"]
workers = 2
repeat = 2
out = "myreports"
workloads = ["cfgjobs"]
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    copy_fixture("counting.py", tmp_path).rename(tmp_path / "cfgjobs.py")
    return tmp_path


def _options(run_dir):
    return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["options"]


@pytest.mark.timeout(180)
def test_config_defaults_apply_and_flags_win(project):
    result = run_cli("profile", "cfgjobs:WORKLOAD", "--line-budget", "0.01", "-q", cwd=project)
    assert result.returncode == 0, result.stderr
    runs = list((project / "myreports").iterdir())
    assert len(runs) == 1 and re.fullmatch(r"counting-\d{8}-\d{6}", runs[0].name)
    options = _options(runs[0])
    assert options["modes"] == ["sequential", "threads:2"]
    assert options["repeat"] == 2

    flagged = project / "flagged"
    result = run_cli("profile", "cfgjobs:WORKLOAD", "--modes", "sequential", "--repeat", "3",
                     "--out", flagged, "--line-budget", "0.01", "-q", cwd=project)
    assert result.returncode == 0, result.stderr
    options = _options(flagged)
    assert options["modes"] == ["sequential"]
    assert options["repeat"] == 3
    assert len(list((project / "myreports").iterdir())) == 1


@pytest.mark.matrix
@pytest.mark.timeout(120)
def test_list_shows_the_configured_modules_workloads(project):
    result = run_cli("list", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = {
        "counting": "task calls helper 3 times per item",
        "counting-lazy": "items from a zero-argument callable",
        "decorated": "decorated task calling helper 3 times per item",
        "primes": None,
    }
    for name, description in expected.items():
        matching = [line for line in lines if line.split()[0] == name]
        assert len(matching) == 1, (name, result.stdout)
        if description:
            assert re.fullmatch(rf"{re.escape(name)}\s+{re.escape(description)}", matching[0])
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines), result.stdout


@pytest.mark.timeout(120)
def test_bad_config_is_one_line_and_exit_2(project):
    (project / "pyproject.toml").write_text("[tool.profkit]\nrepeats = 3\n", encoding="utf-8")
    result = run_main("list", cwd=project)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "unknown key 'repeats'" in result.stderr


@pytest.mark.timeout(180)
def test_console_script_finds_modules_in_the_working_folder(project, tmp_path_factory):
    """The ``profkit`` script (sys.path[0] is its own folder) must find ./cfgjobs.py as
    ``python -m profkit`` does (sys.path[0] is the working folder)."""
    bin_dir = tmp_path_factory.mktemp("bin")
    launcher = bin_dir / "profkit_launcher.py"  # what pip's console-script wrapper does
    launcher.write_text("import sys\nfrom profkit.cli import main\n\nif __name__ == '__main__':\n"
                        "    sys.exit(main())\n", encoding="utf-8")

    def script(*args):
        return subprocess.run([sys.executable, str(launcher), *map(str, args)], cwd=project, env=cli_env(),
                              capture_output=True, text=True, timeout=120)

    listed = script("list")
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[0] == "counting" for line in listed.stdout.splitlines())
    result = script("profile", "cfgjobs:WORKLOAD", "--modes", "sequential,processes", "--repeat", "1",
                    "--start-method", "spawn", "--line-budget", "0.01", "-q", "--out", project / "r")
    assert result.returncode == 0, result.stderr


@pytest.mark.timeout(120)
def test_config_file_paths_are_relative_to_the_pyproject(project):
    (project / "pyproject.toml").write_text('[tool.profkit]\nworkloads = ["cfgjobs.py"]\n', encoding="utf-8")
    below = project / "src" / "deeper"
    below.mkdir(parents=True)
    result = run_cli("list", cwd=below)
    assert result.returncode == 0, result.stderr
    assert any(line.split()[0] == "counting" for line in result.stdout.splitlines())


@pytest.mark.timeout(180)
def test_configured_workloads_profile_by_the_name_list_shows(project):
    out = project / "by-name"
    result = run_cli("profile", "decorated", "--modes", "sequential", "--repeat", "1", "--line-budget",
                     "0.01", "-q", "--out", out, cwd=project)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["workload"]["name"] == "decorated"
    typo = run_main("profile", "decorate", cwd=project)
    assert typo.returncode == 2 and "did you mean decorated" in typo.stderr
