"""Bench child: one profkit.profile() run (optionally beside scripts/loadgen.py's load).

Run fresh by scripts/bench.py with one JSON argument; writes its numbers to cfg["out"].
"""

import json
import pickle
import sys
import time

import profkit
from profkit.store import to_json
from profkit.workloads.primes import is_prime

cfg = json.loads(sys.argv[1])
target = "primes"
if cfg["items"] is not None:
    target = profkit.Workload("bench-small-primes", is_prime, cfg["items"])
t0 = time.perf_counter()
load = None
if cfg.get("load"):
    sys.path.insert(0, cfg["scripts"])
    from loadgen import Load
    load = Load(**cfg["load"]).__enter__()
try:
    # the whole map under cProfile (not the default budget): figure 2 compares a full pass
    run = profkit.profile(target, modes=cfg["modes"], workers=cfg["workers"], repeat=cfg["repeat"],
                          profile_budget="all")
finally:
    if load is not None:
        load.__exit__(None, None, None)
wall = time.perf_counter() - t0
if cfg.get("pickle"):
    with open(cfg["pickle"], "wb") as f:
        pickle.dump({"meta": run.meta, "analysis": run.analysis, "frames": run.frames}, f)
with open(cfg["out"], "w", encoding="utf-8") as f:
    timings = run.timings[["mode", "sweep", "phase", "repeat", "wall_s", "cpu_s",
                           "others_cpu", "spoiled"]].to_dict("records")
    f.write(to_json({"wall_s": wall, "meta": run.meta.to_json(), "analysis": run.analysis,
                     "timings": timings}))
