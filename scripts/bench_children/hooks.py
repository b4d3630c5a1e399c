"""Bench child: the bare map, under a no-op sys.setprofile hook and under cProfile, interleaved.

Run fresh by scripts/bench.py with one JSON argument; writes its numbers to cfg["out"].
"""

import cProfile
import gc
import json
import sys
import time

from profkit.workloads.primes import PRIMES, is_prime

cfg = json.loads(sys.argv[1])
items = PRIMES if cfg["items"] is None else cfg["items"]


def work():
    list(map(is_prime, items))


def noop(frame, event, arg):
    return None


def bare():
    t0 = time.perf_counter()
    work()
    return time.perf_counter() - t0


def noop_hook():
    t0 = time.perf_counter()
    sys.setprofile(noop)
    try:
        work()
    finally:
        sys.setprofile(None)
    return time.perf_counter() - t0


def cprofile():
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    try:
        work()
    finally:
        profiler.disable()
    return time.perf_counter() - t0


kinds = {"bare": bare, "noop_hook": noop_hook, "cprofile": cprofile}
order = list(kinds)
out = {name: [] for name in kinds}
gc.disable()
for k in range(cfg["pairs"]):  # interleaved, rotating, so drift hits all three
    for name in order[k % 3:] + order[:k % 3]:
        out[name].append(kinds[name]())
with open(cfg["out"], "w") as f:
    json.dump(out, f)
