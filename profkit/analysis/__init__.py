"""Analysis: pure functions from frames (and run metadata) to a JSON-able summary.

``analyse(frames, meta) -> dict`` is the entry point (``meta`` is the run's
:class:`profkit.record.RunMeta`); it is what ``run.json`` stores under ``analysis`` and
what every renderer reads. Enums stay enums until run.json, which stores their values.
It holds facts, never sentences: the records below (``Headline``, ``Advice``, ``RunNote`` ...)
are worded by :mod:`profkit.render.text`, whose ``worded(analysis)`` fills in the sentences
named in the comments. Its shape::

    {
      "reference_mode": "sequential" | None,
      "modes": {                       # one entry per main-run mode (not sweep points)
        "<kind>": {
          "mode": str, "workers": int, "status": Status,
          "error": str | None,
          "wall_median_s": float | None, "wall_iqr_s": float | None,
          "wall_min_s": float | None, "wall_max_s": float | None,
          "spread_pct": float | None,   # IQR / median * 100
          "noisy": bool,                # spread_pct > 10
          "repeats": int,
          "cpu_median_s": float | None,
          "cores_used": float | None,   # median CPU seconds / wall seconds: parallelism reached
          "startup_s": float | None,
          "speedup": float | None, "speedup_ci": [lo, hi] | None,   # vs reference, 95% t interval
          "efficiency": float | None,   # speedup / workers
          "bound": float | None,        # what the work allows: optimum schedule, CPU or GIL cap
          "bounds": {"optimum", "optimum_exact", "upper", "dispatch", "chunksize", "cpu_cap",
                     "cores", "cpus", "capped_by_cpus", "gil", "sort_gain",
                     "bound_kind": notes.BoundKind} | None,   # worded: "bound_name"
          "cause": verdict.Cause,
          "crosses_ideal": bool,        # the interval reaches above W x: noise
          "chunk_trial": {"mode", "chunksize", "baseline", "chunked_s", "baseline_s", "gain",
                          "speedup", "walls", "baseline_walls"} | None,
          "achieved_over_bound": float | None,
          "overheads": {                # pooled modes only, from the warm-up (tasks) pass
             "startup_s",               # pool start until every worker is ready
             "dispatch_s",              # per worker: wait for the first task + gaps between tasks
             "busy_s", "busy_cpu_s", "busy_wait_s",   # running tasks: computing / waiting (GIL, I/O)
             "imbalance_s",             # idle while the slowest worker finishes
             "collect_s",               # the parent's wait for results after the last task ended
             "pass_wall_s", "parts_total_s",          # parts_total = startup + pass wall, exactly
             "timing_median_s", "measured_total_s", "error_pct",  # vs startup + timeit median
             "task_bytes", "items_bytes", "results_bytes"          # pickled sizes
          } | None,
          "overhead_per_task_s": float,  # pooled: (median - sequential/workers) / items
        }
      },
      "granularity": {"workers": int, "n_items": int, "item_s": [float] | None,  # <= 1,000 items
                      "total_s": float,
                      "largest_item_s": float, "makespan_s": float, "bound": float,
                      "facts": notes.GranularityFacts} | None,   # worded: "explanation"
      "classification": {"kind": "cpu-bound"|"io-bound"|"mixed",
                         "cpu_ratio": float,      # CPU / the time not spent waiting for a core
                         "queued_share": float,   # that wait, over the tasks' wall time
                         "threads_speedup": float | None, "gil_bound": bool,
                         "facts": verdict.ClassFacts} | None,   # worded: "explanation"
      "bottlenecks": [{"mode", "function", "name", "filename", "lineno", "ncalls",
                       "self_s", "self_pct", "cumulative_s"}],     # top 10 per mode, own frames left out
      "hot_lines": [{"mode", "function", "filename", "lineno", "hits", "time_s", "pct",
                     "source"}],                                   # top 10 per mode
      "sweep": {"points": [{"mode", "workers", "wall_median_s", "speedup", "speedup_ci",
                            "bound"}],
                "amdahl": {"<kind>": {"serial_fraction", "ci": [lo, hi], "max_speedup"}}} | None,
      "recommendation": {"mode", "workers", "speedup", "speedup_ci", "clear",
                         "reason": verdict.Reason,
                         "single_map_speedup", "maps_to_pay_off",
                         "bound", "of_bound"} | None,   # the bound at its workers, speedup / bound
      "advice": [verdict.Advice], "advice_kinds": [verdict.AdviceKind],
      "prediction": {"cpus": int, "modes": {"<kind>": {"points": [{"workers", "speedup",
                     "wall_s", "single_map_speedup", "startup_s", "limit"}], "measured": [...],
                     "flat_at", "limit", "per_chunk_s", "per_map_s", "cores",
                     "flattening": prediction.Flattening,   # worded: "explanation"
                     "calibrated_at"}}} | None,
      "verdict": verdict.Headline,
      "warnings": [notes.RunNote], "notes": [notes.RunNote],
      "memory": {                      # profkit.analysis.memory, from the memory frame
        "modes": {"<kind>": {
          "samples", "duration_s",
          "parent_baseline_bytes", "parent_peak_bytes", "parent_rise_bytes",
          "processes": [{"pid", "role", "baseline_bytes", "peak_bytes", "rise_bytes"}],
          "worker_peak_bytes", "worker_rise_bytes",      # largest pool worker; None without
          "total_baseline_bytes", "total_peak_bytes", "total_rise_bytes",
          "per_worker_bytes",         # a process's peak RSS, or a thread's share of the rise
          "fits": int | None,         # free RAM at the start // per_worker_bytes
          "limited": bool,            # fits < the mode's workers
          "limit": memory.MemoryLimit | None}},   # worded: "text"
        "moved": bool,                # False: every mode stayed flat, the chart is dropped
        "limited": [str],             # the modes memory limits; worded: "limits"
        "available_bytes": int | None},
    }
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profkit.analysis.summary import analyse, prediction_frame


def __getattr__(name: str) -> object:
    """``analyse`` and ``prediction_frame``, imported on first use: the engine imports pure
    helpers from this package (``verdict``, ``stats``) and must not pull pandas into the run's
    parent before the maps."""
    if name in __all__:
        from profkit.analysis import summary

        return getattr(summary, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["analyse", "prediction_frame"]
