"""Bench child: how long a fresh process takes to import what `profkit profile` needs.

Run fresh by scripts/bench.py with one JSON argument; writes its numbers to cfg["out"].
"""

import importlib
import json
import sys
import time

MODULES = ("profkit.pipeline", "profkit.analysis", "profkit.render.html", "profkit.store", "pandas",
           "pyarrow")

t0 = time.perf_counter()
for name in MODULES:
    importlib.import_module(name)
with open(json.loads(sys.argv[1])["out"], "w") as f:
    json.dump({"import_s": time.perf_counter() - t0}, f)
