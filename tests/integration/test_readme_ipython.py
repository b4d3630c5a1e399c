"""Every ```ipython example in README.md and docs/*.md runs, in order, in one real IPython shell in
an empty folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import require
from tests.fixtures.ipython import notebook_shell, run_cell

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [block for page in PAGES
          for block in re.findall(r"^```ipython\n(.*?)^```", page.read_text(encoding="utf-8"),
                                  flags=re.S | re.M)]


def test_readme_has_notebook_examples():
    assert len(BLOCKS) >= 2
    assert any(b.startswith("%%profkit") for b in BLOCKS)


def test_readme_notebook_examples_run(tmp_path, monkeypatch):
    require("IPython")
    from profkit.run import Run

    monkeypatch.chdir(tmp_path)
    with notebook_shell() as shell:
        results = [run_cell(shell, block) for block in BLOCKS]
        run = shell.user_ns["run"]
        assert isinstance(run, Run) and run.meta.status == {
            "sequential": "ok", "threads": "ok", "processes": "ok"}
        assert "f" in set(run.functions["name"])
        cell_run = results[-1]
        assert isinstance(cell_run, Run) and not cell_run.failed_modes
        assert shell.user_ns["profkit_cell"](4) == 0 + 1 + 4 + 9
    runs = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert len(runs) == 2 and all((tmp_path / "reports" / r / "index.html").is_file() for r in runs)
