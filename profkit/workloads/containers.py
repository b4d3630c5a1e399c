"""The timeit table of container builders from the concurrent.futures lesson profkit grew
from, with its two bugs fixed.

The builders and their names are the lesson's (f1..f8: set, list, tuple, string, set_add,
list_append, set_comprehension, list_comprehension). The lesson timed its comprehension
rows with the loop timers (t5, t6 again) and
labelled seconds as ``[ms]``. Here every row times its own builder, and the
task returns seconds per call, which the report shows in microseconds.
"""

from __future__ import annotations

import timeit

from profkit.workloads.model import Workload

N = 100
LOOPS = 5_000


def build_set() -> set[int]:
    return set(range(N))


def build_list() -> list[int]:
    return list(range(N))


def build_tuple() -> tuple[int, ...]:
    return tuple(range(N))


def build_str() -> str:
    return str(range(N))


def build_set_add() -> set[int]:
    s: set[int] = set()
    for i in range(N):
        s.add(i)
    return s


def build_list_append() -> list[int]:
    lst: list[int] = []
    for i in range(N):
        lst.append(i)
    return lst


def build_set_comprehension() -> set[int]:
    return {i for i in range(N)}


def build_list_comprehension() -> list[int]:
    return [i for i in range(N)]


BUILDERS = {
    "set": build_set,
    "list": build_list,
    "tuple": build_tuple,
    "string": build_str,
    "set_add": build_set_add,
    "list_append": build_list_append,
    "set_comprehension": build_set_comprehension,
    "list_comprehension": build_list_comprehension,
}


def time_builder(name: str) -> float:
    """Seconds per call of the named builder, best of 3 timeit runs of LOOPS calls."""
    timer = timeit.Timer(BUILDERS[name])
    return min(timer.repeat(repeat=3, number=LOOPS)) / LOOPS


WORKLOAD = Workload(
    name="containers",
    task=time_builder,
    items=list(BUILDERS),
    description="The timeit lesson's table: set/list/tuple/string builders, add/append loops, "
    "comprehensions (seconds per call).",
    line_functions=tuple(BUILDERS.values()),
)
