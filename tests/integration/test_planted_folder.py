"""A run folder from someone else, opened by ``report``, ``lines``, ``compare``, ``view`` and
``profkit.load``: nothing in it is imported, no file outside it is read, no file in it is read
whole when it is huge, and nothing it names can drive the terminal.

The browser half (snakeviz and the report in Chromium, every trick at once) is
tests/browser/test_planted_folder_browser.py.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.cli import cli_env, one_line_error, run_cli
from tests.fixtures.planted import (
    ESCAPES,
    RAW_CONTROL,
    copy_run,
    deep_json,
    entry_points,
    leaks,
    memory_dat,
    plant_modules,
    plant_outside_lines,
    sparse,
)

pytestmark = pytest.mark.timeout(300)

#: The memory cap the readers run under: a 2 GB file read whole gave MemoryError under it.
CAP_BYTES = 4 * 2**30


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))


def _run(command: list[str], *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *map(str, args)], cwd=cwd, env=cli_env(), capture_output=True,
                          text=True, timeout=120, preexec_fn=_capped)


def _load(folder: Path) -> subprocess.CompletedProcess[str]:
    """``profkit.load(folder)`` in a fresh interpreter, under the cap; prints OK or the error."""
    code = ("import profkit, sys\ntry:\n    profkit.load(sys.argv[1])\nexcept profkit.ProfkitError as exc:\n"
            "    print(f'{type(exc).__name__}: {exc}', file=sys.stderr)\n    sys.exit(2)\nprint('OK')\n")
    return subprocess.run([sys.executable, "-c", code, str(folder)], env=cli_env(), capture_output=True,
                          text=True, timeout=120, preexec_fn=_capped, cwd=folder.parent)


# -- code execution: the working folder is never on sys.path -----------------------------


@pytest.mark.parametrize("entry", ["python -m profkit", "profkit script"])
def test_a_module_planted_in_the_run_folder_is_never_imported(small_primes_run, tmp_path, entry):
    """``cd r && profkit lines .`` imported r/pstats.py (and any module named like one profkit uses)."""
    command = entry_points(tmp_path / "bin")[entry]
    markers = tmp_path / "markers"
    markers.mkdir()
    run = copy_run(small_primes_run.path, tmp_path / "r")
    plant_modules(run, markers)
    clean = copy_run(small_primes_run.path, tmp_path / "clean")
    for args in (["lines", "."], ["report", "."], ["compare", clean, ".", "--no-html"],
                 ["compare", ".", clean, "--no-html"]):
        result = _run(command, *args, cwd=run)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert "is_prime" in _run(command, "lines", ".", cwd=run).stdout
    assert sorted(p.name for p in markers.iterdir()) == [], "a planted module ran"


def test_profile_of_a_builtin_from_a_planted_folder_imports_nothing_from_it(tmp_path):
    """Only the target's own folder may go on sys.path; a built-in target has none."""
    markers = tmp_path / "markers"
    markers.mkdir()
    here = tmp_path / "downloads"
    here.mkdir()
    plant_modules(here, markers)
    result = run_cli("profile", "primes", "--modes", "sequential", "--repeat", "1", "--line-budget",
                     "0.01", "--out", tmp_path / "out", "-q", cwd=here)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in markers.iterdir()) == [], "a planted module ran"


# -- reading any file: a report shows only the source the run saved ----------------------


def test_report_renders_no_line_the_run_did_not_save(small_primes_run, tmp_path):
    """Rows of the lines frame naming an outside file, with source "", filled the report from
    that file (linecache)."""
    run = copy_run(small_primes_run.path, tmp_path / "r")
    plant_outside_lines(run, tmp_path / "secret.py")
    result = run_cli("report", run, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = (run / "index.html").read_text(encoding="utf-8")
    assert "steal" in html, "the planted function is listed (with blank lines)"
    assert not leaks(html)
    loaded = _load(run)
    assert loaded.returncode == 0, loaded.stderr
    import profkit

    assert not leaks(profkit.load(run).to_html(tmp_path / "again.html").read_text(encoding="utf-8"))


def test_a_fresh_report_still_shows_the_def_line_the_profiler_skipped(small_primes_run):
    """The run that just measured the code may read its own source files for the gaps."""
    text = re.sub(r"<[^>]+>", "", (small_primes_run.path / "index.html").read_text(encoding="utf-8"))
    assert "def is_prime(n" in text


# -- huge and deep files: one line, exit 2, nothing read whole ----------------------


#: planted file -> the readers that open it.
HUGE = {
    "run.json": ("report", "lines", "compare", "view", "load"),
    "memory.dat": ("report", "compare", "load"),
    "profiles/sequential.prof": ("report", "compare", "view", "load"),
    "frames/lines.parquet": ("report", "lines", "compare", "load"),
}


def _readers(folder: Path, clean: Path, readers: tuple[str, ...], cwd: Path):
    """(reader, result) for each reader of ``folder``, all under the memory cap."""
    command = [sys.executable, "-m", "profkit"]
    args = {"report": ["report", folder], "lines": ["lines", folder],
            "compare": ["compare", clean, folder, "--no-html"],
            "view": ["view", folder, "--mode", "sequential", "--no-browser"]}
    for reader in readers:
        yield reader, _load(folder) if reader == "load" else _run(command, *args[reader], cwd=cwd)


@pytest.mark.parametrize("planted", list(HUGE))
def test_a_2_gb_file_is_refused_unread(small_primes_run, tmp_path, planted):
    """A 2 GB sparse file is refused without being read: read whole it would raise MemoryError
    under a 4 GB cap."""
    clean = copy_run(small_primes_run.path, tmp_path / "clean")
    folder = copy_run(small_primes_run.path, tmp_path / "huge")
    file = memory_dat(folder) if planted == "memory.dat" else folder / planted
    sparse(file)
    for reader, result in _readers(folder, clean, HUGE[planted], tmp_path):
        if reader == "load":
            assert result.returncode == 2 and result.stderr.startswith("StoreError: "), result.stderr
            line = result.stderr.strip()
        else:
            line = one_line_error(result)
        assert file.name in line and "2,048 MiB" in line and "more than profkit reads" in line, \
            (reader, line)


def test_a_run_json_nested_100000_deep_is_one_line(small_primes_run, tmp_path):
    clean = copy_run(small_primes_run.path, tmp_path / "clean")
    folder = copy_run(small_primes_run.path, tmp_path / "deep")
    deep_json(folder / "run.json")
    for reader, result in _readers(folder, clean, HUGE["run.json"], tmp_path):
        text = result.stderr if reader == "load" else one_line_error(result)
        assert result.returncode == 2 and "nests deeper" in text and "RecursionError" not in text, \
            (reader, result.stderr)


# -- nothing printed can drive the terminal ---------------------------------------------


def test_escape_sequences_in_a_run_are_printed_as_text(small_primes_run, tmp_path):
    """``profkit lines`` printed raw OSC/CSI sequences: the window title changed, the screen cleared."""
    folder = copy_run(small_primes_run.path, tmp_path / f"run{ESCAPES}")
    plant_outside_lines(folder, tmp_path / "secret.py")
    functions = pd.read_parquet(folder / "frames" / "functions.parquet")
    functions["function"] = functions["function"] + ESCAPES
    functions.to_parquet(folder / "frames" / "functions.parquet", index=False)
    clean = copy_run(small_primes_run.path, tmp_path / "clean")
    results = {
        "lines": run_cli("lines", folder, "--mode", "processes", cwd=tmp_path),
        "lines error": run_cli("lines", folder, "--mode", "nosuch", cwd=tmp_path),
        "compare": run_cli("compare", clean, folder, "--no-html", "--top", "50", cwd=tmp_path),
        "report": run_cli("report", folder, cwd=tmp_path),
        "error": run_cli("report", tmp_path / f"missing{ESCAPES}", cwd=tmp_path),
    }
    for name, result in results.items():
        assert result.returncode in (0, 2), (name, result.stderr)
        assert "Traceback" not in result.stderr
        for stream in (result.stdout, result.stderr):
            assert not RAW_CONTROL.search(stream.replace("\n", "").replace("\t", "")), (name, stream)
    assert "\\x1b]0;PWNED-TITLE\\x07\\x1b[2J\\x9b31m" in results["lines"].stdout
    assert "steal\\x1b" in results["lines"].stdout
    assert "\\x1b" in results["lines error"].stderr and "\\x1b" in results["error"].stderr
    assert "\\x1b" in results["compare"].stdout
