"""Run._repr_html_ in headless Chromium: an iframe srcdoc that shows the summary, isolated from its host."""

from __future__ import annotations

import pytest

from profkit.render import text as words
from tests.browser.conftest import LOCAL_SCHEMES
from tests.browser.runs import HOSTILE, hostile_run

pytestmark = pytest.mark.browser

#: A notebook-like host page whose own CSS and script must not reach into the output.
HOST = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>notebook</title>
<style>h2, p, td {{ color: rgb(255, 0, 0) !important; display: none !important; }}</style>
</head><body><div class="output">{cell}</div></body></html>"""


def _open(open_page, tmp_path, cell: str):
    path = tmp_path / "notebook.html"
    path.write_text(HOST.format(cell=cell), encoding="utf-8")
    rec = open_page()
    rec.open(path)
    return rec


def test_repr_html_shows_summary_chart_and_bottlenecks(open_page, small_primes_run, tmp_path, artifacts_dir):
    cell = small_primes_run._repr_html_()
    assert cell.startswith("<iframe") and "srcdoc=" in cell and "<script" not in cell
    rec = _open(open_page, tmp_path, cell)
    page = rec.page
    frame = page.frame_locator("iframe.profkit-report")
    verdict = frame.locator("#verdict")
    assert verdict.is_visible()
    assert verdict.inner_text() == words.verdict(small_primes_run.analysis)
    assert "rgb(255, 0, 0)" not in verdict.evaluate("e => getComputedStyle(e).color")  # host CSS stays out
    assert frame.locator("#chart-speedup svg").is_visible()
    rows = frame.locator("#tbl-bottlenecks tbody tr")
    assert 1 <= rows.count() <= 5
    assert "is_prime" in rows.first.inner_text()
    assert "disable" not in frame.locator("#tbl-bottlenecks").inner_text()  # profkit's frames are out
    page.screenshot(path=str(artifacts_dir / "notebook.png"), full_page=True)
    assert rec.errors == [] and rec.blocked == []
    assert all(url.startswith(LOCAL_SCHEMES) for url in rec.requests), rec.requests


def test_repr_html_keeps_hostile_text_as_text(open_page, small_primes_run, tmp_path):
    rec = _open(open_page, tmp_path, hostile_run(small_primes_run)._repr_html_())
    frame = rec.page.frame_locator("iframe.profkit-report")
    assert HOSTILE[0] in frame.locator("h2").inner_text()
    assert frame.locator("img").count() == 0
    assert rec.page.locator("img").count() == 0
    assert rec.errors == [] and rec.dialogs == []
