"""The call tree's data: built from pstats edges, pruned as stated, small for 10,000 functions."""

from __future__ import annotations

import json
import re
import time

import pytest

from profkit.render import calltree, render
from profkit.render.report.compact import Strings
from tests.browser.runs import big_run, synthetic_stats

MB = 1024 * 1024


def _walk(node, parent=None):
    yield node, parent
    for child in node[3] if len(node) > 3 else []:
        yield from _walk(child, node)


def test_primes_tree_has_is_prime_under_the_root(small_primes_run):
    strings = Strings()
    tree = calltree.build(small_primes_run.profiles["processes"].stats, strings)
    names = strings.to_list()
    fn = tree.functions
    top = tree.root[3]
    assert [names[fn[c[0]][0]] for c in top] == ["is_prime"]
    assert top[0][2] == small_primes_run.meta.workload.n_items  # calls on that edge
    assert all("_lsprof" not in names[row[0]] for row in fn)


def test_synthetic_10000_function_tree_is_consistent_and_pruned():
    stats = synthetic_stats(10_000)
    tree = calltree.build(stats.stats, Strings())
    assert 1 < tree.nodes <= calltree.MAX_NODES
    threshold = calltree.PRUNE_SHARE * tree.total_s / calltree.TICK
    for node, parent in _walk(tree.root):
        if parent is None:
            continue
        assert node[1] >= threshold - 1  # nothing below the stated share is drawn
        assert node[1] <= parent[1] + 1
    for node, _ in _walk(tree.root):
        kids = node[3] if len(node) > 3 else []
        assert sum(k[1] for k in kids) <= node[1] + len(kids)  # children fit in their parent
    assert tree.pruned_nodes > 0 and 0 < tree.pruned_pct < 100


def test_recursion_stops_at_a_function_already_on_the_path():
    main, f, g = ("/a.py", 9, "main"), ("/a.py", 1, "f"), ("/a.py", 5, "g")
    raw = {  # main -> f -> f (recursive) and f -> g -> f (mutual)
        main: (1, 1, 0.0, 4.0, {}),
        f: (1, 10, 1.0, 4.0, {main: (1, 1, 1.0, 4.0), f: (9, 0, 0.9, 3.6), g: (5, 5, 0.5, 2.0)}),
        g: (5, 5, 1.0, 3.0, {f: (5, 5, 1.0, 3.0)}),
    }
    tree = calltree.build(raw, Strings())
    assert tree.cut_cycles > 0
    assert _depth(tree.root) == 4  # root, main, f, g: each function once per path


def _depth(node) -> int:
    kids = node[3] if len(node) > 3 else []
    return 1 + max((_depth(k) for k in kids), default=0)


def test_report_with_10000_functions_and_call_trees_stays_under_2_mb(small_primes_run):
    big = big_run(small_primes_run, n_functions=10_000, n_lines=2_000)
    render(small_primes_run, "html")  # imports and caches
    start = time.perf_counter()
    out = render(big, "html")
    seconds = time.perf_counter() - start
    size = len(out.encode("utf-8"))
    print(f"\n10,000 functions x {len(big.profiles)} modes with call trees: "
          f"{size / MB:.2f} MB in {seconds:.2f} s")
    assert size < 2 * MB
    assert seconds < 3.0  # the 1 s target lives in scripts/bench.py; machines are noisy
    blocks = re.findall(r'<script type="application/json" id="calltree-data-\d+">(.*?)</script>', out)
    assert len(blocks) == len(big.profiles)
    for block in blocks:
        data = json.loads(block)
        assert data["root"][1] > 0 and len(data["fn"]) > 1
    assert out.count("Pruned: ") == len(big.profiles)
    assert f"below {100 * calltree.PRUNE_SHARE:g}%" in out


@pytest.mark.parametrize("profiles", [{}, {"sequential": None}, {"sequential": {}}])
def test_no_profile_means_no_tree(profiles):
    assert calltree.trees(profiles, ["sequential"], Strings()) == []
