"""The speedup chart in headless Chromium: no value label crosses a bound or ideal line."""

from __future__ import annotations

import pytest

from profkit.analysis.records import ModeSummary
from profkit.model import Status
from profkit.render import charts
from tests.fixtures.records import PROCESS_TRAITS

pytestmark = pytest.mark.browser

#: Boxes of every value label and every bound/ideal line of the speedup chart, by bar.
BOXES = """svg => {
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const out = {labels: {}, lines: {}};
  svg.querySelectorAll('[id]').forEach(el => {
    const m = el.id.match(/^speedup-(label|bound|ideal)-(\\d+)$/);
    if (!m) return;
    if (m[1] === 'label') out.labels[m[2]] = box(el.querySelector('text') || el);
    else (out.lines[m[2]] = out.lines[m[2]] || []).push([m[1], box(el)]);
  });
  return out;
}"""

def _row(mode: str, workers: int, speedup: float, speedup_ci: list[float] | None,
         bound: float | None) -> ModeSummary:
    return ModeSummary(mode=mode, workers=workers, traits=PROCESS_TRAITS, status=Status.OK,
                       speedup=speedup, speedup_ci=speedup_ci, bound=bound)


#: Speedup, CI, bound and workers where a label sits close to a line or bar ("1.71×" beside the 1.78× bound).
CASES = [
    [_row("sequential", 1, 1.0, [0.99, 1.01], None),
     _row("threads", 2, 1.04, [1.0, 1.08], 1.78),
     _row("processes", 2, 1.71, [1.66, 1.75], 1.78)],
    [_row("sequential", 1, 1.0, None, None),
     _row("processes", 2, 1.95, [1.9, 1.99], 2.0),
     _row("dask", 4, 3.9, [3.5, 4.1], 3.95)],
]


def _overlap(a: list[float], b: list[float], grow: float = 1.5) -> bool:
    """Do boxes ``a`` and ``b`` intersect, ``b`` grown by ``grow`` px (a line's stroke)?"""
    return not (a[2] <= b[0] - grow or b[2] + grow <= a[0] or a[3] <= b[1] - grow or b[3] + grow <= a[1])


def _check(page, selector: str, n_bars: int) -> None:
    found = page.eval_on_selector(selector, BOXES)
    assert len(found["labels"]) == n_bars, found
    checked = 0
    for bar, label in found["labels"].items():
        assert label[2] > label[0] and label[3] > label[1]
        for kind, line in found["lines"].get(bar, []):
            assert not _overlap(label, line), (bar, kind, label, line)
            checked += 1
        lines = dict(found["lines"].get(bar, []))
        if "ideal" in lines and "bound" in lines:  # the ideal's dots show past the bound's ends
            assert lines["ideal"][0] < lines["bound"][0] and lines["ideal"][2] > lines["bound"][2]
    assert checked > 0


def test_labels_do_not_cross_lines_in_the_report(open_page, small_primes_run, tmp_path):
    path = small_primes_run.to_html(tmp_path / "index.html")
    rec = open_page()
    rec.open(path)
    _check(rec.page, "#chart-speedup svg", len(small_primes_run.analysis.modes))
    assert rec.errors == []


@pytest.mark.parametrize("rows", CASES)
def test_labels_do_not_cross_lines_when_they_meet(open_page, rows):
    svg = charts.speedup_chart(rows)
    rec = open_page(width=900)
    rec.page.set_content(f"<!DOCTYPE html><html><body style='width:800px'>{svg}</body></html>")
    _check(rec.page, "svg", len(rows))
    assert rec.errors == []
