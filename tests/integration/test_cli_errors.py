"""Bad input: one line on stderr naming the problem and the fix, exit code 2, no traceback.

Each mistake is refused before anything runs, so most cases call the CLI in this process
(run_main); test_a_usage_error_exits_2_from_a_real_process checks the same answer from
``python -m profkit`` itself."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.fixtures.cli import WORKLOADS, one_line_error, run_cli, run_main


@pytest.mark.parametrize("args, needles", [
    (["profile", "primez"], ["unknown workload 'primez'", "did you mean primes"]),
    (["profile", "primes", "--modes", "sequential,thread"], ["unknown mode 'thread'", "threads"]),
    (["profile", "primes", "--modes", "seq"], ["did you mean 'sequential'"]),
    (["profile", "primes", "--workers", "0"], ["--workers must be >= 1"]),
    (["profile", "primes", "--workers", "two"], ["--workers must be a whole number"]),
    (["profile", "primes", "--repeat", "-1"], ["--repeat must be >= 1"]),
    (["profile", "primes", "--timeout", "0"], ["--timeout must be > 0"]),
    (["profile", "primes", "--frobnicate"], ["unrecognized arguments: --frobnicate"]),
    (["profile", "primes", "--modes", "threads,threads"], ["given twice"]),
    (["profile", "primes", "--modes", "sequential:3"], ["sequential runs on one worker"]),
    (["frobnicate"], ["invalid choice"]),
])
def test_bad_arguments(args, needles):
    one_line_error(run_main(*args), *needles)


@pytest.mark.parametrize("args, needles", [
    (["profile", "primes", "--workers", "0"], ["--workers must be >= 1"]),
    (["frobnicate"], ["invalid choice"]),
])
def test_a_usage_error_exits_2_from_a_real_process(args, needles):
    one_line_error(run_cli(*args, timeout=60), *needles)


def test_existing_output_folder_is_never_overwritten(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    keep = out / "mine.txt"
    keep.write_text("user data")
    one_line_error(run_main("profile", "primes", "--out", str(out)), "already exists", "--out")
    assert keep.read_text() == "user data"
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    one_line_error(run_main("profile", "primes", "--out", str(blocker / "run")),
                   "cannot be made", "a-file is a file, not a folder", "--out")


@pytest.fixture
def saved_run(small_primes_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small_primes_run.path, copy)
    return copy


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    one_line_error(run_main("report", str(tmp_path)), "is not a profkit run")


def test_report_on_corrupt_run_json(saved_run):
    (saved_run / "run.json").write_text("{not json")
    one_line_error(run_main("report", str(saved_run)), "corrupt")


def test_report_on_a_newer_format(saved_run):
    data = json.loads((saved_run / "run.json").read_text())
    data["format_version"] = 99
    (saved_run / "run.json").write_text(json.dumps(data))
    one_line_error(run_main("report", str(saved_run)), "format_version 99", "upgrade profkit")


def test_foreign_json_is_not_a_run(saved_run):
    (saved_run / "run.json").write_text(json.dumps({"name": "something else"}))
    one_line_error(run_main("report", str(saved_run)), "not a profkit run file")


def test_corrupt_prof_and_lprof(saved_run):
    (saved_run / "profiles" / "sequential.prof").write_bytes(b"garbage")
    one_line_error(run_main("view", str(saved_run), "--mode", "sequential", "--no-browser"),
                   "sequential.prof is not a cProfile stats file")
    # ``lines`` reads the parquet frame, never the .lprof pickle: a broken .lprof is not read
    (saved_run / "lines" / "threads.lprof").write_bytes(b"\x80\x04garbage")
    result = run_main("lines", str(saved_run), "--mode", "threads")
    assert result.returncode == 0, result.stderr
    assert "if n % i == 0:" in result.stdout
    (saved_run / "frames" / "lines.parquet").write_bytes(b"garbage")
    one_line_error(run_main("lines", str(saved_run), "--mode", "threads"), "lines.parquet is corrupt")


@pytest.mark.matrix
def test_report_rerenders_from_saved_frames(saved_run):
    (saved_run / "index.html").unlink()
    result = run_cli("report", str(saved_run), timeout=120)
    assert result.returncode == 0, result.stderr
    assert (saved_run / "index.html").stat().st_size > 1000


@pytest.mark.matrix
def test_lines_prints_the_merged_line_table(saved_run):
    result = run_cli("lines", str(saved_run), "--mode", "processes", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "is_prime" in result.stdout
    assert "if n % i == 0:" in result.stdout


@pytest.mark.timeout(120)
def test_lines_of_a_run_whose_every_mode_failed_says_so_not_to_add_a_line_budget(tmp_path):
    out = tmp_path / "run"
    run = run_cli("profile", f"{WORKLOADS}:RAISES", "--modes", "sequential", "--repeat", "1",
                  "--out", out, "-q", timeout=90)
    assert run.returncode == 1, run.stderr
    error = one_line_error(run_main("lines", str(out)), "no line profile", "sequential failed")
    assert "--line-budget" not in error


@pytest.mark.parametrize("command", [["report"], ["lines"], ["view", "--no-browser"]])
def test_an_ab_folder_given_as_a_run_names_its_two_runs(tmp_path, command):
    folder = tmp_path / "ab"
    for side in ("A", "B"):
        (folder / side).mkdir(parents=True)
        (folder / side / "run.json").write_text("{}", encoding="utf-8")
    error = one_line_error(run_main(*command, str(folder)), "holds the two runs of profkit ab")
    assert f"give {folder / 'A'} or {folder / 'B'}" in error, error
