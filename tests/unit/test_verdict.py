"""Classification, recommendation and advice on synthetic mode summaries."""

from profkit.analysis import verdict

TRAITS = {
    "sequential": {"reference": True, "parallel": False, "shares_memory": True, "shares_gil": True,
                   "worker_label": "main"},
    "threads": {"parallel": True, "shares_memory": True, "shares_gil": True, "worker_label": "thread"},
    "processes": {"parallel": True, "shares_memory": False, "shares_gil": False,
                  "ships_pickles": True, "worker_label": "pid"},
}


def _mode(mode, workers, speedup, **extra):
    return {"mode": mode, "workers": workers, "speedup": speedup, "speedup_ci": None,
            "status": "ok", "bound": None, "traits": TRAITS[mode], **extra}


def _recommend(candidates):
    return verdict.recommend(candidates, "sequential", TRAITS)


def test_cpu_bound_with_flat_threads_is_gil_bound():
    c = verdict.classify(0.99, _mode("threads", 2, 0.98))
    assert c["kind"] == "cpu-bound" and c["gil_bound"]
    assert "GIL" in c["explanation"]


def test_io_bound_threads_help():
    c = verdict.classify(0.05, _mode("threads", 2, 1.9))
    assert c["kind"] == "io-bound" and not c["gil_bound"]
    assert "waiting releases the GIL" in c["explanation"]


def test_cpu_bound_threads_on_one_core_are_gil_bound_despite_a_noisy_speedup():
    c = verdict.classify(0.99, _mode("threads", 2, 1.15, cores_used=1.0))
    assert c["gil_bound"]


def test_cpu_bound_but_threads_scale_means_code_releases_the_gil():
    c = verdict.classify(0.95, _mode("threads", 2, 1.8, cores_used=1.9))
    assert not c["gil_bound"]
    assert "releases the" in c["explanation"]


def test_recommend_prefers_the_cheaper_mode_within_five_percent():
    rec = _recommend([_mode("sequential", 1, 1.0), _mode("threads", 2, 1.88),
                             _mode("processes", 2, 1.92)])
    assert rec["mode"] == "threads"


def test_recommend_sequential_when_nothing_pays():
    rec = _recommend([_mode("sequential", 1, 1.0), _mode("threads", 2, 0.3),
                             _mode("processes", 2, 0.05)])
    assert rec["mode"] == "sequential"


def test_advice_for_tiny_tasks_names_chunksize_and_overhead():
    modes = {"sequential": _mode("sequential", 1, 1.0),
             "processes": _mode("processes", 2, 0.05, overhead_per_task_s=1e-4)}
    advice = " ".join(verdict.advise(modes, None, None, 2e-7, 1000, {"mode": "sequential"}))
    assert "chunksize=" in advice
    assert "Do not parallelise" in advice


def test_fmt_seconds_picks_units():
    assert verdict.fmt_seconds(2.5) == "2.50 s"
    assert verdict.fmt_seconds(0.0123) == "12.3 ms"
    assert verdict.fmt_seconds(4.2e-6) == "4.2 µs"


def test_threads_without_a_sequential_run_have_no_speedup_yet_classify():
    c = verdict.classify(0.95, {"speedup": None, "workers": 2, "cores_used": 1.0})
    assert c["gil_bound"] and "GIL" in c["explanation"]
