"""The Run that %profkit returns for a notebook function, shown through _repr_html_ in headless Chromium."""

from __future__ import annotations

import pytest

from profkit.render import text as words
from tests.browser.conftest import LOCAL_SCHEMES
from tests.conftest import require
from tests.fixtures.ipython import F_SOURCE, notebook_shell, run_cell

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

HOST = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>notebook</title></head>
<body><div class="output">{cell}</div></body></html>"""


@pytest.fixture(scope="module")
def magic_run(tmp_path_factory):
    require("IPython")
    out = tmp_path_factory.mktemp("magic") / "run"
    with notebook_shell() as shell:
        run_cell(shell, F_SOURCE)
        return run_cell(shell, f'%profkit -f f -i "[300_000, 100_000, 200_000, 150_000]" '
                               f"--modes sequential,threads,processes --workers 2 --repeat 3 "
                               f"--line-budget 0.05 --out {out} -q")


def test_notebook_function_run_renders_inline(open_page, magic_run, tmp_path, artifacts_dir):
    assert magic_run.meta.status == {"sequential": "ok", "threads": "ok", "processes": "ok"}
    cell = magic_run._repr_html_()
    path = tmp_path / "notebook.html"
    path.write_text(HOST.format(cell=cell), encoding="utf-8")
    rec = open_page()
    rec.open(path)
    frame = rec.page.frame_locator("iframe.profkit-report")
    verdict = frame.locator("#verdict")
    assert verdict.is_visible()
    assert verdict.inner_text() == words.verdict(magic_run.analysis)
    assert frame.locator("#chart-speedup svg").is_visible()
    rows = frame.locator("#tbl-bottlenecks tbody tr")
    assert rows.count() >= 1
    function, where = (t.strip() for t in rows.first.locator("td").all_inner_texts()[:2])
    assert function == "f" and where.startswith("<ipython-input")  # the notebook cell's function
    rec.page.screenshot(path=str(artifacts_dir / "notebook-magic.png"), full_page=True)
    assert rec.errors == [] and rec.blocked == []
    assert all(url.startswith(LOCAL_SCHEMES) for url in rec.requests), rec.requests
