"""Opening a folder from someone else: every trick planted, every reader run, every page opened.

``report``, ``view``, ``lines``, ``compare`` and ``profkit.load`` open run folders that
hold modules named like the ones profkit imports, ``.prof`` files whose function names
hold ``</script><script>``, lines-frame rows that name a file outside the folder, escape
sequences, and 2 GB or 100,000-deep files. Nothing may run (no marker file), nothing from
outside may show (no :data:`SECRET` in any output or page), every exit code is 0 or 2 with
one line, and no traceback. The report, the compare page and the snakeviz page that
``profkit view`` serves are opened in headless Chromium.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.cli import cli_env
from tests.fixtures.planted import (
    RAW_CONTROL,
    SCRIPT_NAME,
    copy_run,
    deep_json,
    entry_points,
    leaks,
    memory_dat,
    plant_modules,
    plant_outside_lines,
    plant_script_profiles,
    sparse,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

#: The readers each folder is opened with: (name, arguments after ``profkit``), "." the folder.
READERS = (("report", ["report", "."]), ("lines", ["lines", "."]),
           ("compare as B", ["compare", "{clean}", "."]), ("compare as A", ["compare", ".", "{clean}"]))


def _tricks(source: Path, tmp_path: Path, markers: Path) -> dict[str, Path]:
    """Folders of planted tricks. Those that stop a reader early (a huge or deep file) get a
    folder each, so that every other trick is still reached in the first one."""
    folders = {}
    for name in ("everything", "huge run.json", "deep run.json", "huge memory .dat", "huge .prof",
                 "huge parquet"):
        folder = folders[name] = copy_run(source, tmp_path / name.replace(" ", "-"))
        plant_modules(folder, markers)
        plant_script_profiles(folder)
        plant_outside_lines(folder, tmp_path / "outside" / "secret.py")
    sparse(folders["huge run.json"] / "run.json")
    deep_json(folders["deep run.json"] / "run.json")
    sparse(memory_dat(folders["huge memory .dat"]))
    sparse(folders["huge .prof"] / "profiles" / "sequential.prof")
    sparse(folders["huge parquet"] / "frames" / "functions.parquet")
    return folders


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    """Exit 0, or exit 2 with one line; no traceback; nothing a terminal would act on."""
    assert result.returncode in (0, 2), (what, result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, (what, result.stderr)
    if result.returncode == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("profkit: error: "), (what, result.stderr)
    for stream in (result.stdout, result.stderr):
        assert not leaks(stream), (what, stream)
        assert not RAW_CONTROL.search(stream.replace("\n", "").replace("\t", "")), (what, stream)


def _snakeviz_page(browser, url: str) -> tuple[str, object, list[str]]:
    """The page ``url`` in Chromium, only its own server reachable; (html, data-pwned, dialogs)."""
    origin = url.split("/snakeviz/", 1)[0]
    context = browser.new_context()
    dialogs: list[str] = []
    try:
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(origin) else r.abort())
        page.goto(url)
        page.wait_for_load_state("load")
        page.wait_for_selector("#pstats-table tbody tr")
        page.wait_for_timeout(1500)  # the worker draws the sunburst
        table = page.inner_text("#pstats-table")
        assert "data-pwned" in table, "the planted names are shown, as text"
        return page.content(), page.evaluate("document.body.getAttribute('data-pwned')"), dialogs
    finally:
        context.close()


def test_opening_a_folder_from_someone_else_runs_nothing_and_leaks_nothing(
        small_primes_run, tmp_path, browser, open_page, viewers):
    markers = tmp_path / "markers"
    markers.mkdir()
    (tmp_path / "outside").mkdir()
    clean = copy_run(small_primes_run.path, tmp_path / "clean")
    folders = _tricks(small_primes_run.path, tmp_path, markers)
    entries = entry_points(tmp_path / "bin")
    codes: dict[tuple[str, str, str], int] = {}

    for entry, command in entries.items():
        for name, folder in folders.items():
            for reader, args in READERS:
                args = [a.replace("{clean}", str(clean)) for a in args]
                result = subprocess.run([*command, *args], cwd=folder, env=cli_env(), capture_output=True,
                                        text=True, timeout=180)
                _check(result, f"{entry} {reader} in {name}")
                codes[entry, name, reader] = result.returncode
            if name != "everything":
                # view stops at the huge or deep file before it serves (a .dat or frame it never reads)
                result = subprocess.run([*command, "view", ".", "--no-browser"], cwd=folder,
                                        env=cli_env(), capture_output=True, text=True, timeout=60) \
                    if name in ("huge run.json", "deep run.json", "huge .prof") else None
                if result is not None:
                    _check(result, f"{entry} view in {name}")
                    assert result.returncode == 2
    for name, folder in folders.items():  # the API, from outside the folder
        loaded = subprocess.run(
            [sys.executable, "-c", "import sys, profkit\ntry:\n    profkit.load(sys.argv[1])\n"
             "except profkit.StoreError as exc:\n    sys.exit(f'StoreError: {exc}')\n", str(folder)],
            cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120)
        assert loaded.returncode == (0 if name == "everything" else 1), (name, loaded.stderr)
        assert "Traceback" not in loaded.stderr and not leaks(loaded.stderr)

    # every trick reached in "everything": each reader opened it whole, and each stopper stopped
    assert {k: v for k, v in codes.items() if k[1] == "everything"} == dict.fromkeys(
        [(e, "everything", r) for e in entries for r, _ in READERS], 0)
    for name in ("huge run.json", "deep run.json"):
        assert {v for k, v in codes.items() if k[1] == name} == {2}

    everything = folders["everything"]
    for page_file in (everything / "index.html", everything / "compare.html"):
        html = page_file.read_text(encoding="utf-8")
        assert not leaks(html) and "steal" in (everything / "index.html").read_text(encoding="utf-8")
        rec = open_page()
        rec.open(page_file)
        assert rec.page.evaluate("document.body.getAttribute('data-pwned')") is None
        assert rec.dialogs == [] and rec.blocked == [], (rec.dialogs, rec.blocked)
        assert not leaks(rec.page.content()) and not leaks(rec.page.inner_text("body"))

    for entry, command in entries.items():
        viewer = viewers(".", "--no-browser", "--mode", "processes", cwd=everything, command=command)
        html, pwned, dialogs = _snakeviz_page(browser, viewer.url)
        assert pwned is None, f"{entry}: the planted script ran in the snakeviz page"
        assert dialogs == [] and not leaks(html)
        assert SCRIPT_NAME not in html  # never raw in the page: escaped wherever it appears
        viewer.stop()
        assert viewer.process.returncode is not None

    assert sorted(p.name for p in markers.iterdir()) == [], "a planted module ran"
