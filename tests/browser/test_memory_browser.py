"""The Memory and Memory by line sections of a run that holds 300 MiB per item, in Chromium."""

from __future__ import annotations

import pytest

from profkit.pipeline import profile
from tests.browser.test_report_browser import _assert_clean
from tests.fixtures.memory_hog import HOG

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def hog_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("hog") / "run"
    profile(HOG, modes="sequential,processes", workers=2, repeat=1, line_budget=0.05,
            memory_lines=["hold"], out=out)
    return out / "index.html"


def _mib(text: str) -> float:
    number, unit = text.split()
    assert unit == "MiB", text
    return float(number)


def test_memory_sections_render_and_sort(open_page, hog_report):
    rec = open_page()
    rec.open(hog_report)
    page = rec.page
    assert page.locator("#chart-memory svg").is_visible()
    rows = page.locator("#tbl-memory tbody tr")
    assert rows.count() == 2
    cells = rows.nth(0).locator("td").all_inner_texts()
    rise = _mib(cells[5])  # sequential: the parent's rise, the task's 300 MiB plus the interpreter's noise
    assert 300 <= rise <= 300 * 1.05, cells
    section = page.locator("#memory-lines")
    section.scroll_into_view_if_needed()
    assert section.is_visible()
    hot = page.locator("#tbl-memory-lines-1 tr.hot")
    assert hot.count() == 1 and "bytearray(HOLD_BYTES)" in hot.inner_text()
    per_item = _mib(hot.locator("td").all_inner_texts()[3].lstrip("+"))  # total, then per item
    assert 300 <= per_item <= 300 * 1.05, hot.inner_text()
    page.locator("#tbl-memory-lines-1 th", has_text="per item").click()
    assert "mprof plot memory/processes.dat" in page.locator("#artifacts-memory").inner_text()
    _assert_clean(rec)
