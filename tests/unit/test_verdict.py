"""The verdict model on synthetic facts: classification, recommendation, advice, and that
nothing it can produce contradicts itself."""

import dataclasses
import itertools

import pytest

from profkit.analysis import verdict
from profkit.analysis.verdict import (
    AdviceKind,
    Cause,
    Facts,
    ModeFacts,
    Outcome,
    WorkClass,
)
from profkit.model import Status
from profkit.render import text as words

SEQ = ModeFacts("sequential", 1, speedup=1.0, parallel=False, reference=True, shares_gil=True,
                shares_memory=True, cost=0, wall_s=1.0)


def threads(speedup, ci, **kw):
    return ModeFacts("threads", 2, speedup=speedup, ci=ci, shares_gil=True, shares_memory=True,
                     cost=1, startup_s=0.001, wall_s=1.0 / speedup, **kw)


def processes(speedup, ci, **kw):
    kw.setdefault("startup_s", 0.02)
    return ModeFacts("processes", 2, speedup=speedup, ci=ci, cost=2, wall_s=1.0 / speedup, **kw)


def facts(work, *modes, **kw):
    kw.setdefault("ref_wall_s", 1.0)
    kw.setdefault("per_task_s", 0.1)
    kw.setdefault("n_items", 10)
    return Facts(work=work, modes=(SEQ, *modes), **kw)


def kinds(v):
    return {a.kind for a in v.advice}


# -- classification ---------------------------------------------------------

def _threads(workers, speedup, ci=None):
    """The GIL-sharing mode as the classification reads it."""
    return ModeFacts("threads", workers, speedup=speedup, ci=ci, shares_gil=True)


def test_cpu_bound_with_flat_threads_is_gil_bound():
    c = verdict.classify(0.99, _threads(2, 0.98))
    assert c.kind == "cpu-bound" and c.gil_bound and c.work_class is WorkClass.CPU
    assert c.threads_speedup == 0.98 and c.facts.threads_workers == 2
    assert "GIL" in words.classification(c.facts)


def test_io_bound_threads_help():
    c = verdict.classify(0.05, _threads(2, 1.9))
    assert c.kind == "io-bound" and not c.gil_bound
    assert "waiting releases the GIL" in words.classification(c.facts)


def test_cpu_bound_threads_on_one_core_are_gil_bound_despite_a_noisy_speedup():
    c = verdict.classify(0.99, _threads(2, 1.15), threads_cores=1.0)
    assert c.gil_bound


def test_cpu_bound_but_threads_scale_means_code_releases_the_gil():
    c = verdict.classify(0.95, _threads(2, 1.8), threads_cores=1.9)
    assert not c.gil_bound and c.work_class is WorkClass.GIL_RELEASING and c.kind == "cpu-bound"
    assert "releases the" in words.classification(c.facts)


def test_mixed_work_is_not_gil_bound_and_names_the_threads_cap():
    c = verdict.classify(0.5, _threads(2, 1.95), threads_cores=1.0)
    assert c.kind == "mixed" and not c.gil_bound
    assert "2.00×" in words.classification(c.facts)


def test_threads_without_a_sequential_run_have_no_speedup_yet_classify():
    c = verdict.classify(0.95, _threads(2, None), threads_cores=1.0)
    assert c.gil_bound and c.threads_speedup is None and "GIL" in words.classification(c.facts)


def test_without_threads_or_cpu_time_the_classification_says_what_it_can():
    assert verdict.classify(None, _threads(2, 1.0)) is None  # no CPU time: no class
    alone = verdict.classify(0.99, None, queued_share=0.2)
    assert alone.kind == "cpu-bound" and not alone.gil_bound and alone.threads_speedup is None
    assert alone.queued_share == 0.2 and alone.facts.queued_share == 0.2
    assert alone.facts.threads_workers is None and alone.facts.threads_cores is None


# -- recommendation ---------------------------------------------------------

def test_a_wide_interval_gives_no_recommendation():
    # a tiny map: 1.13x, 95% CI 0.88-1.28x, 17.1 ms start-up on a 3.7 ms map
    f = facts(WorkClass.CPU, processes(1.13, (0.88, 1.28), startup_s=0.0171), ref_wall_s=0.0037)
    v = verdict.decide(f)
    rec = v.recommendation
    assert rec.mode == "sequential" and not rec.clear
    reason = words.reason(rec.reason)
    assert "no mode is clearly faster" in reason and "0.88–1.28×" in reason
    assert AdviceKind.SETTLE in kinds(v)
    settle = next(words.advice(a) for a in v.advice if a.kind is AdviceKind.SETTLE)
    assert "more rounds" in settle and "bigger items" in settle
    assert words.headline(verdict.headline(f, v)).startswith("No mode is clearly faster")


def test_recommend_counts_start_up_and_the_maps_that_pay_it_off():
    f = facts(WorkClass.CPU, processes(1.85, (1.8, 1.9), startup_s=1.0))
    rec = verdict.decide(f).recommendation
    assert rec.mode == "processes" and rec.clear
    assert rec.single_map_speedup == pytest.approx(1 / (1 / 1.85 + 1.0))
    assert rec.maps_to_pay_off == 3  # 1.0 s start-up / 0.46 s saved per map
    assert "paid back after 3 maps" in words.reason(rec.reason)
    v = verdict.decide(f)
    assert AdviceKind.REUSE_POOL in kinds(v)
    quick = verdict.decide(facts(WorkClass.CPU, processes(1.85, (1.8, 1.9), startup_s=0.005)))
    assert quick.recommendation.maps_to_pay_off == 1
    assert "Even a single map" in words.reason(quick.recommendation.reason)


def test_recommend_prefers_the_cheaper_mode_within_five_percent():
    f = facts(WorkClass.IO, threads(1.88, (1.8, 1.95)), processes(1.92, (1.85, 2.0)))
    assert verdict.decide(f).recommendation.mode == "threads"


def test_recommend_sequential_when_everything_is_clearly_slower():
    f = facts(WorkClass.CPU, threads(0.3, (0.28, 0.32)), processes(0.05, (0.04, 0.06),
                                                                   overhead_per_task_s=1e-4),
              per_task_s=2e-7, n_items=1000, chunk_advice=125)
    v = verdict.decide(f)
    assert v.recommendation.mode == "sequential" and v.recommendation.clear
    text = " ".join(words.advice(a) for a in v.advice)
    assert "chunksize=125" in text and "Do not parallelise" in text


def test_measured_chunk_gain_is_reported_beside_the_advice():
    trial = {"mode": "processes", "chunksize": 125, "baseline": 1, "chunked_s": 0.0015,
             "baseline_s": 0.069, "gain": 46.0, "speedup": 0.24}
    f = facts(WorkClass.CPU, processes(0.004, (0.002, 0.006)), per_task_s=3e-7, n_items=1000,
              chunk_advice=125, chunk_trial=trial)
    text = next(words.advice(a) for a in verdict.decide(f).advice if a.kind is AdviceKind.BATCH)
    assert "Measured in this run" in text and "46× as fast" in text and "4.17× slower" in text


def test_mixed_workload_advice_agrees_with_the_recommendation():
    # CPU share 0.5, threads 1.95x on 2 workers: the advice must not say "use processes"
    f = facts(WorkClass.MIXED, threads(1.95, (1.9, 2.0)), processes(1.7, (1.6, 1.8)))
    v = verdict.decide(f)
    assert v.recommendation.mode == "threads"
    assert AdviceKind.USE_PROCESSES not in kinds(v)
    assert AdviceKind.USE_THREADS in kinds(v)
    assert v.causes["threads"] is Cause.SCALES


def test_threads_on_gil_bound_work_are_never_recommended_and_get_the_gil_bound():
    f = facts(WorkClass.CPU, threads(1.11, (0.99, 1.17), bound=1.01), processes(1.78, (1.7, 1.85)))
    v = verdict.decide(f)
    assert v.causes["threads"] is Cause.GIL
    assert v.recommendation.mode == "processes"
    assert AdviceKind.USE_PROCESSES in kinds(v)
    s = words.headline(verdict.headline(f, v))
    assert "threads: 1.11× on 2 workers" in s and "the work allows them 1.01×" in s
    assert "the items allow" not in s.split("processes:")[0]


def test_threads_measured_above_the_gil_bound_say_the_model_does_not_fit():
    f = facts(WorkClass.CPU, threads(1.71, (1.55, 1.88), bound=1.0), processes(1.78, (1.7, 1.85)))
    v = verdict.decide(f)
    assert v.causes["threads"] is not Cause.GIL
    s = words.headline(verdict.headline(f, v))
    assert "GIL" not in s.split("processes:")[0]
    assert "above the 1.00× bound: its model does not fit this work" in s


def test_a_classification_never_caps_threads_below_their_interval():
    mixed = verdict.classify(0.55, _threads(4, 3.1, (2.8, 3.4)))
    assert mixed.work_class is WorkClass.GIL_RELEASING and "caps" not in words.classification(mixed.facts)
    cpu = verdict.classify(0.97, _threads(2, 1.22, (1.12, 1.33)), threads_cores=1.25)
    assert not cpu.gil_bound and "holds the GIL" not in words.classification(cpu.facts)
    flat = verdict.classify(0.97, _threads(2, 1.0, (0.95, 1.05)))
    assert flat.gil_bound and flat.facts.threads_ci == [0.95, 1.05]


def test_a_free_threaded_build_gets_no_gil_claim(monkeypatch):
    import sys

    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    from profkit.engine.environment import environment

    env = environment("spawn")
    assert env["gil_enabled"] is False
    for ratio in (0.97, 0.55):
        c = verdict.classify(ratio, _threads(2, 1.0, (0.95, 1.05)), gil_enabled=env["gil_enabled"])
        assert "GIL caps" not in words.classification(c.facts) and not c.gil_bound
        assert "holds the GIL" not in words.classification(c.facts) and c.gil_enabled is False
        work = c.work_class
        assert not work.holds_gil()
        f = facts(work, threads(1.0, (0.95, 1.05), bound=2.0), processes(1.78, (1.7, 1.85)))
        v = verdict.decide(f)
        assert v.causes["threads"] is not Cause.GIL and "GIL" not in words.headline(verdict.headline(f, v))


def test_one_cpu_is_named_before_overhead():
    """A 1-CPU run, 4 workers, 10 ms tasks: the CPUs are the cause, not overhead."""
    one_cpu = processes(0.8, (0.75, 0.85), bound=1.0, capped_by_cpus=True, overhead_per_task_s=0.008)
    f = facts(WorkClass.CPU, one_cpu, per_task_s=0.01, cpus=1)
    v = verdict.decide(f)
    assert v.causes["processes"] is Cause.CPUS
    text = " ".join(words.advice(a) for a in v.advice)
    assert "1 CPU" in text and "overhead" not in text
    assert "overhead" not in words.headline(verdict.headline(f, v))
    # the same on a busy machine, where the interval includes a gain: the CPU, not noise or overhead
    busy = processes(1.16, (0.83, 1.61), bound=1.5, overhead_per_task_s=0.008)
    f = facts(WorkClass.CPU, busy, per_task_s=0.01, cpus=1)
    v = verdict.decide(f)
    assert v.causes["processes"] is Cause.CPUS and v.recommendation.mode == "sequential"
    assert AdviceKind.SETTLE not in kinds(v)
    text = " ".join([words.headline(verdict.headline(f, v)), *(words.advice(a) for a in v.advice)])
    assert "1 CPU for 2 workers" in text and "overhead" not in text


@pytest.mark.parametrize("ci", [(0.93, 2.05), None, (1.01, 1.08)])
def test_more_workers_than_cpus_that_still_spread_are_unsettled_not_cannot_spread(ci):
    """4 processes on 2 busy CPUs measured at 1.59× (bound 2.00×): the work did spread, so the
    report says the gain is not clear yet, with its speedup and interval, never 'cannot spread'."""
    speedup = 1.05 if ci == (1.01, 1.08) else 1.59
    four = dataclasses.replace(processes(speedup, ci, bound=2.0, capped_by_cpus=True,
                                         overhead_per_task_s=1e-4), workers=4)
    slow_threads = dataclasses.replace(threads(0.98, (0.9, 1.05)), workers=4)
    f = facts(WorkClass.CPU, slow_threads, four, cpus=2)
    v = verdict.decide(f)
    rec = v.recommendation
    assert v.causes["processes"] is not Cause.CPUS
    assert rec.mode == "sequential" and not rec.clear
    assert rec.reason.kind is verdict.ReasonKind.UNSETTLED and rec.reason.best == "processes"
    said = " ".join([words.reason(rec.reason), words.headline(verdict.headline(f, v)),
                     *(words.advice(a) for a in v.advice)])
    assert "cannot spread" not in said and "no pooled mode is at least 10% faster" not in said
    said = words.reason(rec.reason)
    assert f"processes {words.fmt_speedup(speedup)}" in said
    if ci is None:
        assert "not clearly faster: one clean round gives no interval" in said
    elif ci[0] <= 1:
        assert f"not clearly faster: its 95% interval [{words.fmt_interval(ci)}]" in said
    else:
        assert "clearly faster but by less than 10%" in said
    assert AdviceKind.SETTLE in kinds(v)


def test_slowdowns_read_as_slower_never_zero():
    f = facts(WorkClass.CPU, processes(1 / 301, (1 / 320, 1 / 280)), per_task_s=3e-7)
    s = words.headline(verdict.headline(f, verdict.decide(f)))
    assert "301× slower than sequential" in s and "0.00" not in s


# -- every combination -----------------------------------------------------

OUTCOMES = {
    "absent": None,
    "faster": (1.8, (1.6, 1.95)),
    "small": (1.05, (1.01, 1.09)),
    "unclear": (1.13, (0.88, 1.28)),
    "slower": (0.5, (0.4, 0.6)),
    "failed": "failed",
}


def _make(factory, outcome, **kw):
    spec = OUTCOMES[outcome]
    if spec is None:
        return None
    if spec == "failed":
        return factory(1.0, None, ok=False, **kw)
    return factory(spec[0], spec[1], **kw)


COMBINATIONS = list(itertools.product(
    [None, *WorkClass], OUTCOMES, OUTCOMES, [False, True], [False, True], [0.0, 0.2], [0.01, 2.0]))


@pytest.mark.parametrize("work,t_out,p_out,tiny,uneven,sort_gain,startup", COMBINATIONS)
def test_no_combination_contradicts_itself(work, t_out, p_out, tiny, uneven, sort_gain, startup):
    cap = 1.5 if uneven else 2.0
    modes = [m for m in (_make(threads, t_out, items_cap=cap, overhead_per_task_s=1e-4),
                         _make(processes, p_out, items_cap=cap, startup_s=startup,
                               overhead_per_task_s=1e-4)) if m]
    f = facts(work, *modes, per_task_s=1e-5 if tiny else 0.1, n_items=100,
              chunk_advice=13 if tiny else None, sort_gain=sort_gain)
    v = verdict.decide(f)
    rec, k = v.recommendation, kinds(v)
    by_name = {m.mode: m for m in f.modes}
    if rec is None:  # every pool failed: nothing is recommended, nor advised against
        assert modes and not any(m.ok for m in modes)
        assert not k & {AdviceKind.KEEP_LOOP, AdviceKind.SETTLE, AdviceKind.USE_THREADS,
                        AdviceKind.USE_PROCESSES, AdviceKind.REUSE_POOL}
        assert words.headline(verdict.headline(f, v)).startswith("No recommendation: ")
        return
    chosen = by_name[rec.mode]
    if not chosen.reference:
        assert rec.clear and chosen.outcome is Outcome.FASTER
        assert rec.speedup >= verdict.GAIN_THRESHOLD
        assert v.causes[rec.mode] not in (Cause.GIL, Cause.OVERHEAD, Cause.NOISE, Cause.FAILED)
        assert not k & {AdviceKind.KEEP_LOOP, AdviceKind.SETTLE}
    else:
        assert not k & {AdviceKind.USE_THREADS, AdviceKind.USE_PROCESSES, AdviceKind.REUSE_POOL}
    if AdviceKind.USE_PROCESSES in k:
        assert not chosen.shares_memory
    if AdviceKind.USE_THREADS in k:
        assert chosen.shares_memory
    assert (AdviceKind.SETTLE in k) == (not rec.clear)
    if AdviceKind.KEEP_LOOP in k:
        assert chosen.reference and rec.clear
    for m in modes:
        cause = v.causes[m.mode]
        if cause is Cause.GIL:
            assert work is WorkClass.CPU and m.shares_gil
        if m.ok and m.outcome is Outcome.FASTER and m.speedup >= verdict.GAIN_THRESHOLD \
                and cause is not Cause.GIL:
            assert not chosen.reference, "a clear gain was passed over"
    s = words.headline(verdict.headline(f, v))
    for part in s.split("; "):
        if part.startswith("threads:") and v.causes.get("threads") is Cause.GIL:
            assert "faster than" not in part


def test_one_round_calls_only_a_threefold_slowdown_clear():
    """With one clean round there is no interval: 50x slower is still slower, 0.8x is noise."""
    assert processes(0.02, None).outcome is Outcome.SLOWER
    assert processes(0.8, None).outcome is Outcome.UNCLEAR
    assert processes(1.9, None).outcome is Outcome.UNCLEAR
    tiny = facts(WorkClass.CPU, threads(0.02, None, overhead_per_task_s=1e-5),
                 processes(0.002, None, overhead_per_task_s=1e-4), per_task_s=2e-7)
    advice = [words.advice(a) for a in verdict.decide(tiny).advice]
    assert any(text.startswith("Do not parallelise") for text in advice), advice


def test_gc_advice_names_a_mode_above_the_share_with_its_full_collections():
    from profkit.analysis.gc import GC_ADVICE_SHARE, GcGeneration, GcSummary, gc_advice
    from profkit.render.text import gc_advice as worded

    heavy = GcSummary(collections=10, seconds=0.5, share=GC_ADVICE_SHARE + 0.2, task_seconds=1.6,
                      by_generation={"0": GcGeneration(8, 0.1, 5), "2": GcGeneration(2, 0.4, 9)})
    light = GcSummary(collections=1, seconds=0.01, share=GC_ADVICE_SHARE / 2, task_seconds=1.6)
    facts = gc_advice({"threads": heavy, "processes": light, "sequential": None}, "off")
    assert [(f.mode, f.full_collections, f.full_seconds, f.gc_off) for f in facts] == \
        [("threads", 2, 0.4, True)]
    assert "30% of the tasks' time in threads" in worded(facts[0])
    assert "2 full ones took 0.4 s" in worded(facts[0])


# -- modes that did not finish ------------------------------------------------

def _ended(factory, status):
    return factory(1.0, None, ok=False, status=status)


@pytest.mark.parametrize("ref_status", [Status.FAILED, Status.TIMEOUT, Status.INTERRUPTED])
def test_no_mode_that_did_not_finish_is_recommended_and_each_says_how_it_ended(ref_status):
    """Every mode failed, timed out or was interrupted: no recommendation (the reference least
    of all), and each clause says what happened to its mode, once."""
    seq = dataclasses.replace(SEQ, ok=False, status=ref_status, speedup=None)
    f = Facts(work=None, modes=(seq, _ended(threads, Status.TIMEOUT),
                                _ended(processes, Status.INTERRUPTED)), reference=None)
    v = verdict.decide(f)
    assert v.recommendation is None
    assert not kinds(v) & {AdviceKind.KEEP_LOOP, AdviceKind.SETTLE}
    h = verdict.headline(f, v)
    assert h.head is verdict.HeadKind.NONE and h.no_result is verdict.NoResult.NO_MODE
    said = words.ENDED[ref_status]
    assert words.headline(h) == (f"No recommendation: no mode finished. sequential: {said}; "
                                 "threads: timed out; processes: interrupted.")


def test_without_a_finished_reference_or_pool_nothing_is_recommended():
    """The reference finished but no pool did (nothing to compare it with); pools finished but
    the reference did not (no speedup to judge by)."""
    f = facts(WorkClass.CPU, _ended(threads, Status.FAILED), _ended(processes, Status.TIMEOUT))
    v = verdict.decide(f)
    assert v.recommendation is None
    assert words.headline(verdict.headline(f, v)) == (
        "No recommendation: only sequential finished, so there is nothing to compare it with. "
        "threads: failed; processes: timed out.")
    seq = dataclasses.replace(SEQ, ok=False, status=Status.FAILED, speedup=None)
    f = Facts(work=WorkClass.CPU, modes=(seq, threads(1.0, None), processes(1.0, None)),
              reference=None)
    f = dataclasses.replace(f, modes=tuple(dataclasses.replace(m, speedup=None, ci=None)
                                           if not m.reference else m for m in f.modes))
    v = verdict.decide(f)
    assert v.recommendation is None
    text = words.headline(verdict.headline(f, v))
    assert text.startswith("No recommendation: sequential, which every speedup is measured "
                           "against, did not finish. sequential: failed;"), text


def test_one_worker_is_one_worker():
    """Counts agree with their nouns: 1 worker, 2 workers."""
    one = dataclasses.replace(processes(1.8, (1.6, 1.95)), workers=1)
    f = facts(WorkClass.IO, one)
    text = words.headline(verdict.headline(f, verdict.decide(f)))
    assert text.startswith("Recommended: processes with 1 worker (1.80×") and "1 workers" not in text
    f = facts(WorkClass.IO, processes(1.8, (1.6, 1.95)))
    assert "with 2 workers (" in words.headline(verdict.headline(f, verdict.decide(f)))


def test_no_batching_advice_when_the_items_make_one_item_chunks_anyway():
    """6 tiny items on 2 workers: four chunks per worker is chunksize 1, the default, so
    'Batch tiny tasks: pass chunksize=1' would change nothing; 1000 items still get it."""
    few = facts(WorkClass.CPU, processes(0.93, (0.86, 1.01)), per_task_s=2.6e-4, n_items=6,
                chunk_advice=verdict.advised_chunksize(6, 2))
    assert verdict.advised_chunksize(6, 2) == 1
    assert AdviceKind.BATCH not in kinds(verdict.decide(few))
    many = facts(WorkClass.CPU, processes(0.93, (0.86, 1.01)), per_task_s=2.6e-4, n_items=1000,
                 chunk_advice=verdict.advised_chunksize(1000, 2))
    assert AdviceKind.BATCH in kinds(verdict.decide(many))


@pytest.mark.parametrize("reference_ran", [False, True])
def test_a_mode_that_ran_without_a_reference_is_timed_not_unmeasured(reference_ran):
    """threads alone (or beside a sequential that failed): its map was timed, only its speedup
    has nothing to be measured against; the headline must not say 'not measured'."""
    alone = ModeFacts("threads", 2, speedup=None, ci=None, shares_gil=True, shares_memory=True,
                      cost=1, startup_s=0.001, wall_s=0.034)
    modes = ((dataclasses.replace(SEQ, ok=False, status=Status.FAILED, speedup=None), alone)
             if reference_ran else (alone,))
    f = Facts(work=WorkClass.CPU, modes=modes, ref_wall_s=None, per_task_s=0.005, n_items=6)
    text = words.headline(verdict.headline(f, verdict.decide(f)))
    assert "not measured" not in text, text
    assert "threads: timed" in text and "no speedup" in text, text
