"""Which items a profiling pass covers: every item when that is cheap, else a fair sample of whole items.

A pass that cuts items at a budget sees only their beginning, so code that works in
phases (build, transform, reduce) gets the first phase as its bottleneck. Here an
item is profiled whole or not at all. The items come in :func:`spread_order`
(the first, the middle, the quarters, ...), and the sample is a prefix of that
order: a systematic sample of the list, never the cheapest items first. The
worker's watchdog still cuts an item, but only one that runs far beyond its
estimate (:data:`SAFETY_FACTOR`), as a safety net; the run labels it partial.

A budget is seconds of estimated traced time per profiling worker ("lane"), or
``"all"`` (every item), or ``"auto"``: a share of the sequential map's time, so
that a sample's cost grows with the work, and a floor. cProfile's floor buys a
complete pass when it fits (small workloads are profiled whole), and otherwise
only one mean item, when the share buys less; line_profiler's, far below a whole
pass at its slowdown, is its sample's least size.
"""

from __future__ import annotations

import math

from profkit.model import ALL, AUTO, PassBudget, PassPlan

#: With "auto", a pass may take this share of the sequential map's time per profiling worker...
AUTO_SHARE = 0.25
#: ... and never less than this (seconds of estimated traced time per worker): cProfile...
CPROFILE_AUTO_FLOOR_S = 3.0
#: How much slower cProfile makes a pure-Python loop (about 1.5x on primes' is_prime: on
#: CPython 3.11 any profile hook slows every instruction, not only calls).
CPROFILE_SLOWDOWN = 1.6
#: How much slower line_profiler makes a tight pure-Python loop (about 9x on primes' is_prime).
LINE_SLOWDOWN = 9.0
#: ... and line_profiler, whose slowdown is far larger.
LINE_AUTO_FLOOR_S = 1.0
#: When no whole item fits the budget, one item is still taken (in the first mode) if its
#: estimate is at most this many sequential maps, or :data:`ONE_ITEM_FLOOR_S`: the profile then
#: covers one whole item.
ONE_ITEM_MAPS = 2.0
ONE_ITEM_FLOOR_S = 10.0
#: The watchdog cuts an item only when its lane runs this many times past its estimate (+1 s): a
#: safety net for an item far slower than the probe said, not a way to save time.
SAFETY_FACTOR = 4.0
SAFETY_SLACK_S = 1.0


def spread_order(indices: list[int]) -> list[int]:
    """``indices`` from across the list first: the first, the middle, the quarters, the eighths...

    A sample that is a prefix of this order covers items from every part of the list,
    not only its start, and two runs of the same items cover the same ones.
    """
    n = len(indices)
    out: list[int] = []
    seen: set[int] = set()
    k = 0
    while len(out) < n:
        fraction, bit, j = 0.0, 0.5, k  # k-th term of the base-2 van der Corput sequence
        while j:
            fraction += bit * (j & 1)
            j >>= 1
            bit /= 2
        position = int(fraction * n)
        if position not in seen:
            seen.add(position)
            out.append(indices[position])
        k += 1
    return out


def allowance(budget: PassBudget, serial_s: float, floor_s: float, *,
              whole_s: float | None = None, item_s: float = 0.0) -> float:
    """Estimated traced seconds per profiling worker that ``budget`` allows.

    With ``"auto"``, ``whole_s`` (the whole pass's traced seconds per worker, if known) sets
    which rule applies: every item when the whole pass fits ``floor_s``; else a share of the
    sequential map, but at least one mean item (``item_s``, traced) when that fits the floor.
    The floor buys completeness, not a bigger sample: a pass that cannot be complete within
    it costs what the work's size allows.
    """
    if budget == ALL:
        return math.inf
    if budget == AUTO:
        if whole_s is None or whole_s <= floor_s:
            return max(floor_s, AUTO_SHARE * serial_s)
        return max(AUTO_SHARE * serial_s, min(floor_s, item_s))
    return float(budget)


def plan_pass(indices: list[int], durations: dict[int, float], lanes: int, allowance_s: float,
              slowdown: float, serial_s: float | None = None, *, one_item: bool = True,
              per_item_s: float = 0.0) -> PassPlan:
    """The first k items of the spread order, whole, each to the least-loaded worker.

    k is set by the items' mean estimated cost (``durations`` are plain seconds, the probe's;
    ``slowdown`` the pass's factor, ``per_item_s`` its fixed cost per item), never by the
    items met on the way: a rule that stops
    at the first item that does not fit leaves big items out more often than small ones,
    and biases the shares towards what small items do. When the mean item does not fit
    one worker's allowance, the cheapest item is taken alone if it costs at most
    :data:`ONE_ITEM_MAPS` sequential maps (``serial_s``) or :data:`ONE_ITEM_FLOOR_S`, and
    ``one_item`` allows it (the first mode's pass);
    otherwise the plan is empty and ``cheapest_s`` says what one item would cost.
    """
    if not indices:
        return PassPlan([], allowance_s, None, True)
    lanes = max(1, min(lanes, len(indices)))

    def cost(index: int) -> float:
        return durations.get(index, 0.0) * slowdown + per_item_s

    mean = sum(cost(i) for i in indices) / len(indices)
    fits = len(indices) if mean <= 0 else int(min(len(indices), lanes * allowance_s / mean))
    order = spread_order(indices)
    if fits >= 1:
        chosen = order[:fits]
    else:
        limit = max(allowance_s, ONE_ITEM_FLOOR_S,
                    ONE_ITEM_MAPS * (serial_s if serial_s is not None else sum(durations.values())))
        first = min(indices, key=lambda i: (cost(i), i))
        if cost(first) > limit or not one_item:
            return PassPlan([], allowance_s, None, False, cheapest_s=cost(first),
                            deferred=not one_item and cost(first) <= limit)
        chosen = [first]
    lanes = min(lanes, len(chosen))
    batches: list[list[int]] = [[] for _ in range(lanes)]
    loads = [0.0] * lanes
    for index in sorted(chosen, key=lambda i: -cost(i)):  # longest first: even lanes
        lane = min(range(lanes), key=lambda k: (loads[k], len(batches[k])))
        batches[lane].append(index)
        loads[lane] += cost(index)
    complete = len(chosen) == len(indices)
    cap = None if math.isinf(allowance_s) else SAFETY_FACTOR * max(loads) + SAFETY_SLACK_S
    return PassPlan(batches, allowance_s, cap, complete, single=fits < 1,
                    cheapest_s=max(loads) if fits < 1 else None)
