"""The call tree in headless Chromium: drawn offline, is_prime under the task, zoom, search."""

from __future__ import annotations

from pathlib import Path

import pytest

from profkit.render.calltree import PRUNE_SHARE
from tests.browser.conftest import LOCAL_SCHEMES
from tests.browser.runs import big_run

pytestmark = pytest.mark.browser

PRUNED = f"below {100 * PRUNE_SHARE:g}%"

#: [name, x, y, width, classes] of every drawn frame of one call tree.
FRAMES = """box => Array.from(box.querySelectorAll('g.frame')).map(g => {
  const r = g.querySelector('rect').getBoundingClientRect();
  const t = g.querySelector('title');
  return [t ? t.textContent : '', r.x, r.y, r.width, g.getAttribute('class')];
})"""


@pytest.fixture(scope="module")
def primes_report(small_primes_run, tmp_path_factory) -> Path:
    return small_primes_run.to_html(tmp_path_factory.mktemp("calltree") / "index.html")


@pytest.fixture(scope="module")
def big_report(small_primes_run, tmp_path_factory) -> Path:
    return big_run(small_primes_run, n_functions=2_000, n_lines=100).to_html(
        tmp_path_factory.mktemp("calltree-big") / "index.html")


def _assert_clean(rec) -> None:
    assert rec.errors == [], rec.errors
    assert rec.blocked == [], rec.blocked
    assert all(url.startswith(LOCAL_SCHEMES) for url in rec.requests), rec.requests


def _frames(page, box: str) -> list[list]:
    page.wait_for_selector(f"{box} g.frame")
    page.wait_for_timeout(400)  # let the zoom transition settle
    return page.eval_on_selector(box, FRAMES)


def _frame(frames: list[list], name: str) -> list:
    return next(f for f in frames if f[0].startswith(name + " ") or f[0].startswith(name + ":"))


def test_call_tree_shows_is_prime_under_the_task(open_page, primes_report, artifacts_dir):
    rec = open_page()
    rec.open(primes_report)
    page = rec.page
    box = "#calltree-1 .calltree"
    assert page.locator("#call-tree").is_visible()
    assert page.locator(f"{box} .ct-chart svg").is_visible()
    frames = _frames(page, box)
    root = _frame(frames, "all tasks (sequential)")
    prime = _frame(frames, "is_prime")
    assert prime[2] > root[2]  # one row below the root (icicle: callers on top)
    assert prime[1] >= root[1] - 0.5 and prime[1] + prime[3] <= root[1] + root[3] + 0.5
    assert prime[3] > 0.9 * root[3]  # is_prime is (nearly) all of the task's time
    assert "cumulative" in prime[0] and "calls" in prime[0]
    page.hover(f"{box} g.frame:nth-of-type(2)")
    assert page.locator(f"{box} .ct-details").inner_text().startswith("is_prime")
    pruned = page.locator(f"{box} .ct-pruned").inner_text()
    assert PRUNED in pruned or "Nothing was pruned" in pruned
    page.locator("#call-tree").screenshot(path=str(artifacts_dir / "calltree.png"))
    _assert_clean(rec)


def test_click_zooms_and_search_finds(open_page, primes_report):
    rec = open_page()
    rec.open(primes_report)
    page = rec.page
    box = "#calltree-1 .calltree"
    _frames(page, box)
    page.locator(f"{box} g.frame", has=page.locator("title", has_text="is_prime (")).first.click()
    frames = _frames(page, box)
    assert "fade" in _frame(frames, "all tasks (sequential)")[4]  # the ancestors fade on zoom
    assert page.locator(f"{box} .ct-details").inner_text().startswith("Zoomed to is_prime")
    page.locator(f"{box} .ct-search").fill("prime")
    found = page.locator(f"{box} .ct-found")
    page.wait_for_function("el => el.textContent.includes('match')", arg=found.element_handle())
    assert found.inner_text().startswith("1 frame match")
    highlighted = page.eval_on_selector(
        box, "b => Array.from(b.querySelectorAll('g.frame rect')).filter(r => "
             "getComputedStyle(r).fill === 'rgb(230, 0, 230)').length")
    assert highlighted == 1
    page.locator(f"{box} .ct-search").fill("no_such_function")
    assert found.inner_text() == "no match"
    _assert_clean(rec)


def test_big_tree_zooms_a_frame_to_full_width(open_page, big_report):
    rec = open_page()
    rec.open(big_report)
    page = rec.page
    box = "#calltree-1 .calltree"
    frames = _frames(page, box)
    root = frames[0]
    narrow = next(f for f in frames[2:] if 0.1 * root[3] < f[3] < 0.6 * root[3])
    name = narrow[0].split(" ")[0]
    page.locator(f"{box} g.frame", has=page.locator("title", has_text=narrow[0])).first.click()
    zoomed = next(f for f in _frames(page, box) if f[0] == narrow[0])
    assert zoomed[3] == pytest.approx(root[3], rel=0.02), (name, narrow[3], zoomed[3])
    page.locator(f"{box} .ct-reset").click()
    back = next(f for f in _frames(page, box) if f[0] == narrow[0])
    assert back[3] == pytest.approx(narrow[3], rel=0.02)
    page.locator(f"{box} .ct-search").fill("handle_1")
    assert "match" in page.locator(f"{box} .ct-found").inner_text()
    assert PRUNED in page.locator(f"{box} .ct-pruned").inner_text()
    _assert_clean(rec)


def test_hostile_function_names_stay_text_in_the_tree(open_page, small_primes_run, tmp_path):
    from tests.browser.runs import HOSTILE, hostile_run, synthetic_stats

    run = hostile_run(small_primes_run)
    stats = synthetic_stats(60)
    stats.stats = {(f"/tmp/{HOSTILE[1]}.py", line, HOSTILE[i % len(HOSTILE)] + name): entry
                   for i, ((_, line, name), entry) in enumerate(stats.stats.items())}
    renamed = {old: new for old, new in zip(synthetic_stats(60).stats, stats.stats, strict=True)}
    stats.stats = {k: (*v[:4], {renamed[c]: e for c, e in v[4].items()}) for k, v in stats.stats.items()}
    run.profiles = {"sequential": stats}
    rec = open_page()
    rec.open(run.to_html(tmp_path / "index.html"))
    page = rec.page
    frames = _frames(page, "#calltree-1 .calltree")
    assert any(HOSTILE[0] in f[0] for f in frames)
    page.locator("#calltree-1 .ct-search").fill("<script>")
    page.locator("#calltree-1 g.frame").nth(1).hover()
    assert page.locator("img").count() == 0
    assert page.locator("#calltree-1 .calltree script").count() == 0
    assert rec.errors == [] and rec.dialogs == []
