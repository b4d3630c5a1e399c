"""Run folders are claimed atomically: real folders, a real second process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from profkit.errors import RunDirError
from profkit.store import (
    CLAIM_FILE,
    atomic_write_text,
    claim_fresh_run_dir,
    prepare_run_dir,
    release_run_dir,
)
from tests.fixtures.cli import cli_env


def _claim_in_another_process(path) -> subprocess.CompletedProcess[str]:
    code = ("import sys\nfrom profkit.store import prepare_run_dir\nfrom profkit.errors import "
            "RunDirError\ntry:\n    prepare_run_dir(sys.argv[1])\nexcept RunDirError as e:\n"
            "    print(e)\n    sys.exit(2)\n")
    return subprocess.run([sys.executable, "-c", code, str(path)], env=cli_env(),
                          capture_output=True, text=True, timeout=60)


def test_a_claimed_folder_is_refused_to_another_process(tmp_path):
    path = prepare_run_dir(tmp_path / "run")
    try:
        assert prepare_run_dir(tmp_path / "run") == path  # this process holds it: reusable
        other = _claim_in_another_process(path)
        assert other.returncode == 2 and "being written by another profkit run" in other.stdout
    finally:
        release_run_dir(path, discard=True)
    assert not path.exists()


def test_fresh_default_folders_never_collide(tmp_path):
    base = tmp_path / "reports" / "w-20260101-000000"
    first = claim_fresh_run_dir(base)
    second = claim_fresh_run_dir(base)
    try:
        assert (first, second) == (base, base.with_name(base.name + "-2"))
        assert (first / CLAIM_FILE).is_file() and (second / CLAIM_FILE).is_file()
    finally:
        release_run_dir(second, discard=True)
        release_run_dir(first, discard=True)
    assert not (tmp_path / "reports").exists()  # the parents the claims made are gone too


def test_discard_keeps_a_folder_the_user_made(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    path = prepare_run_dir(mine)
    atomic_write_text(path / "frames" / "x.parquet", "partial")  # what the run wrote goes
    release_run_dir(path, discard=True)
    assert mine.is_dir() and list(mine.iterdir()) == []


def test_a_folder_with_content_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="already exists and is not empty"):
        prepare_run_dir(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
