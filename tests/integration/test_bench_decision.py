"""scripts/bench_decision.py reads a run's answer as the typed record gives it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _script():
    path = REPO / "scripts" / "bench_decision.py"
    spec = importlib.util.spec_from_file_location("profkit_bench_decision", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_the_answer_is_the_recommendation_and_the_reference_modes_top_function(small_primes_run):
    import profkit

    run = profkit.load(small_primes_run.path)
    mode, bottleneck = _script().answer_of(json.loads((small_primes_run.path / "run.json").read_text()))
    assert run.analysis.recommendation is not None
    assert mode == run.analysis.recommendation.mode
    reference = [b for b in run.analysis.bottlenecks if b.mode == run.analysis.reference_mode]
    assert bottleneck == reference[0].name == "is_prime"
