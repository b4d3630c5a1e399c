"""Bench child: primes' serial map under timeit, then its warm and cold ProcessPoolExecutor maps.

Run fresh by scripts/bench.py with one JSON argument; writes its numbers to cfg["out"].
"""

import json
import multiprocessing
import os
import sys
import time
import timeit
from concurrent.futures import ProcessPoolExecutor

from profkit.workloads.primes import PRIMES, is_prime

cfg = json.loads(sys.argv[1])
items = PRIMES if cfg["items"] is None else cfg["items"]
# first thing in a fresh process: the serial map under timeit (with its CPU time:
# wall / CPU above 1 means this process waited for a core, i.e. the machine was busy)
out = {"serial_s": [], "serial_cpu_s": []}
for _ in range(cfg["repeat"]):
    c0 = time.process_time()
    out["serial_s"].append(timeit.timeit(lambda: list(map(is_prime, items)), number=1))
    out["serial_cpu_s"].append(time.process_time() - c0)


def _pid(_):
    time.sleep(0.02)
    return os.getpid()


if cfg["pool"]:
    workers = cfg["workers"]
    out["start_method"] = multiprocessing.get_start_method()
    with ProcessPoolExecutor(workers) as ex:
        t0 = time.perf_counter()
        seen = set()
        for _ in range(50):  # warm: every worker started and answering
            seen.update(ex.map(_pid, range(workers)))
            if len(seen) >= workers:
                break
        out["pool_ready_s"] = time.perf_counter() - t0
        out["pool_workers"] = len(seen)
        out["warm_pool_s"] = timeit.repeat(lambda: list(ex.map(is_prime, items)),
                                           repeat=cfg["repeat"], number=1)
    cold = []
    for _ in range(cfg["cold_repeat"]):
        t0 = time.perf_counter()
        with ProcessPoolExecutor(workers) as ex:
            list(ex.map(is_prime, items))
        cold.append(time.perf_counter() - t0)
    out["cold_pool_s"] = cold
with open(cfg["out"], "w") as f:
    json.dump(out, f)
