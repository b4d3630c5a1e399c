"""scripts/bench_decision.py reads a run's answer as the typed record gives it."""

from __future__ import annotations

import json

from tests.fixtures.scripts import load_script


def test_the_answer_is_the_recommendation_and_the_reference_modes_top_function(small_primes_run):
    import profkit

    run = profkit.load(small_primes_run.path)
    script = load_script("bench_decision")
    mode, bottleneck = script.answer_of(json.loads((small_primes_run.path / "run.json").read_text()))
    assert run.analysis.recommendation is not None
    assert mode == run.analysis.recommendation.mode
    reference = [b for b in run.analysis.bottlenecks if b.mode == run.analysis.reference_mode]
    assert bottleneck == reference[0].name == "is_prime"
