"""The HTML report in a real headless Chromium: offline, no errors, charts shown, tables that work."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from profkit.fmt import fmt_count, fmt_seconds
from profkit.render.report.compact import TICK
from profkit.render.report.filters import short_path
from profkit.render.report.functions import TOP_ROWS
from tests.browser.conftest import LOCAL_SCHEMES
from tests.browser.runs import big_run, hostile_run

pytestmark = pytest.mark.browser

UNIT = re.compile(r"^\d+\.\d\d s$|^\d+\.\d (ms|µs)$")


@pytest.fixture(scope="module")
def primes_report(small_primes_run) -> Path:
    """The report of a real run, re-rendered in place (it links to its own stats and frames)."""
    return small_primes_run.to_html(small_primes_run.path / "index.html")


@pytest.fixture(scope="module")
def big_report(small_primes_run, tmp_path_factory) -> tuple[Path, object]:
    run = big_run(small_primes_run, n_functions=400, n_lines=200)
    path = tmp_path_factory.mktemp("big") / "index.html"
    run.to_html(path)
    return path, run


@pytest.fixture(scope="module")
def hostile_report(small_primes_run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "index.html"
    return hostile_run(small_primes_run).to_html(path)


def _assert_clean(rec) -> None:
    assert rec.errors == [], rec.errors
    assert rec.blocked == [], rec.blocked
    assert all(url.startswith(LOCAL_SCHEMES) for url in rec.requests), rec.requests
    assert rec.dialogs == []


def visible_column(page, table: str, column: int) -> list[str]:
    return page.eval_on_selector(
        table, "(t, c) => Array.from(t.tBodies[0].rows).filter(r => !r.hidden)"
               ".map(r => r.cells[c].getAttribute('data-v') || r.cells[c].textContent.trim())", column)


def test_the_page_formats_numbers_as_profkit_fmt_does(open_page, primes_report):
    """The rows the page builds from JSON read like the rows rendered in Python."""
    rng = random.Random(11)
    seconds = [0.0, 1e-7, 0.000999, 0.001, 0.99996, 1.0, 59.99, 123456.7]
    seconds += [10 ** rng.uniform(-7, 4) for _ in range(300)]
    counts = [0, 7, 999, 1000, 1234567, 10**12]
    paths = ["a.py", "/a/b.py", "/usr/lib/python3.11/json/decoder.py", "C:\\x\\y\\z.py"]
    rec = open_page()
    rec.open(primes_report)
    page = rec.page
    assert page.evaluate("() => profkit.TICK") == TICK
    assert page.evaluate("xs => xs.map(profkit.fmtSeconds)", seconds) == [fmt_seconds(s) for s in seconds]
    assert page.evaluate("xs => xs.map(x => profkit.fmtCount(x))", counts) == [fmt_count(n) for n in counts]
    assert page.evaluate("xs => xs.map(profkit.shortPath)", paths) == [short_path(p) for p in paths]
    _assert_clean(rec)


def test_report_opens_offline_with_no_errors_and_is_screenshotted(open_page, primes_report, artifacts_dir):
    rec = open_page()
    rec.open(primes_report)
    page = rec.page
    assert page.title().startswith("profkit: ")
    assert page.locator("#verdict").is_visible()
    page.screenshot(path=str(artifacts_dir / "report.png"), full_page=True)
    _assert_clean(rec)
    assert rec.requests and rec.requests[0].startswith("file:")


def test_charts_are_present_and_visible(open_page, primes_report, small_primes_run):
    rec = open_page()
    rec.open(primes_report)
    charts = rec.page.locator("figure.chart svg")
    pooled = [m for m in small_primes_run.analysis.modes if m != "sequential"]
    moved = small_primes_run.analysis.memory.moved  # a flat memory chart is dropped
    expected = 1 + len(pooled) + int(moved)  # speedup, one timeline per pooled mode, memory
    assert charts.count() >= expected
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80, box
    assert rec.page.locator("#chart-speedup svg").is_visible()
    assert rec.page.locator("#chart-speedup figcaption").inner_text()
    _assert_clean(rec)


def test_clicking_a_header_sorts_numerically(open_page, primes_report):
    rec = open_page()
    rec.open(primes_report)
    page = rec.page
    table = "#tbl-items"
    header = page.locator(f"{table} thead tr:last-child th", has_text="sequential")
    before = visible_column(page, table, 0)
    header.click()
    index = page.eval_on_selector(f"{table}", "t => Array.from(t.tHead.rows[t.tHead.rows.length - 1].cells)"
                                              ".findIndex(c => c.textContent.trim() === 'sequential')")
    values = [float(v) for v in visible_column(page, table, index)]
    assert values == sorted(values, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    values = [float(v) for v in visible_column(page, table, index)]
    assert values == sorted(values)
    assert visible_column(page, table, 0) != before or before == sorted(before, key=float)
    _assert_clean(rec)


def test_show_all_builds_the_remaining_rows_with_units(open_page, big_report):
    path, run = big_report
    rec = open_page()
    rec.open(path)
    page = rec.page
    table = "#tbl-functions-1"
    rows = page.locator(f"{table} tbody tr:not([hidden])")
    assert rows.count() == TOP_ROWS
    button = page.locator("#functions-1 button.show-all")
    assert button.inner_text() == "Show all 400"
    button.click()
    assert rows.count() == 400
    assert button.inner_text() == f"Show top {TOP_ROWS}"
    # rows built by the JS format times like the Python side does
    functions = run.frames["functions"]
    mode = run.frames["functions"]["mode"].iloc[0]
    by_name = functions[functions["mode"] == mode].set_index("name")
    built = page.eval_on_selector(
        table, f"t => Array.from(t.tBodies[0].rows).slice({TOP_ROWS})"
               ".map(r => [r.cells[0].textContent, r.cells[3].textContent, r.cells[2].textContent])")
    assert len(built) == 400 - TOP_ROWS
    for name, self_text, calls_text in built:
        assert UNIT.match(self_text), self_text
        ticks = round(float(by_name.loc[name, "self_s"]) / TICK)
        assert self_text == fmt_seconds(ticks * TICK)
        ncalls, prim = int(by_name.loc[name, "ncalls"]), int(by_name.loc[name, "primitive_calls"])
        assert calls_text == (f"{ncalls:,}" if ncalls == prim else f"{ncalls:,}/{prim:,}")
    button.click()
    assert rows.count() == TOP_ROWS
    _assert_clean(rec)


def test_sorting_a_long_table_sorts_every_row(open_page, big_report):
    path, _ = big_report
    rec = open_page()
    rec.open(path)
    page = rec.page
    table = "#tbl-functions-1"
    page.locator(f"{table} th", has_text="calls").click()
    calls = [float(v) for v in visible_column(page, table, 2)]
    assert len(calls) == TOP_ROWS
    everything = page.eval_on_selector(
        table, "t => Array.from(t.tBodies[0].rows).map(r => parseFloat(r.cells[2].getAttribute('data-v')))")
    assert len(everything) == 400
    assert everything == sorted(everything, reverse=True)
    assert calls == everything[: TOP_ROWS]
    _assert_clean(rec)


def test_filter_box_filters_all_rows(open_page, big_report):
    path, _ = big_report
    rec = open_page()
    rec.open(path)
    page = rec.page
    page.locator("#functions-1 input.filter").fill("function_12")
    page.wait_for_function(
        "() => document.querySelector('#functions-1 .count').textContent.includes('matching')")
    names = visible_column(page, "#tbl-functions-1", 0)
    assert names and all("function_12" in n for n in names)
    assert "function_12" in names and "function_120" in names
    _assert_clean(rec)


def test_hostile_report_runs_no_injected_code(open_page, hostile_report):
    rec = open_page()
    rec.open(hostile_report)
    page = rec.page
    assert page.locator("img").count() == 0
    assert "<script>alert(1)</script>" in page.locator("h1").inner_text()
    page.locator("#functions-1 button.show-all").click()  # builds rows from hostile JSON strings
    assert page.locator("img").count() == 0
    page.locator("#tbl-functions-1 th", has_text="function").click()
    assert page.locator("#tbl-functions-1 tbody tr").count() > TOP_ROWS
    assert page.locator("body svg[onload]").count() == 0
    _assert_clean(rec)


def test_print_layout_hides_navigation_and_keeps_charts(open_page, primes_report):
    rec = open_page()
    rec.open(primes_report)
    page = rec.page
    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible()
    assert page.locator("#chart-speedup svg").is_visible()
    width = page.eval_on_selector("#chart-speedup svg", "s => s.getBoundingClientRect().width")
    assert 0 < width <= page.viewport_size["width"]
    _assert_clean(rec)
