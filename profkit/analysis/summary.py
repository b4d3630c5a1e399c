"""analyse(frames, meta) -> the JSON-able summary described in :mod:`profkit.analysis`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from profkit.analysis import bounds, overheads, stats, verdict

TOP_N = 10
BUSY_MACHINE_CPUS = 0.5  # warn when others kept more than half a CPU busy before the run


def _map_walls(timings: pd.DataFrame, mode: str, workers: int, sweep: bool) -> list[float]:
    rows = timings[(timings["mode"] == mode) & (timings["workers"] == workers)
                   & (timings["sweep"] == sweep) & (timings["phase"] == "map")]
    return rows["wall_s"].tolist()


def _mode_tasks(tasks: pd.DataFrame, mode: str, sweep: bool = False) -> pd.DataFrame:
    return tasks[(tasks["mode"] == mode) & (tasks["sweep"] == sweep)]


def _granularity(seq_tasks: pd.DataFrame, workers: int) -> dict[str, Any] | None:
    if seq_tasks.empty or not seq_tasks["ok"].all():
        return None
    durations = seq_tasks.sort_values("item")["duration_s"].tolist()
    total = float(sum(durations))
    makespan = bounds.lpt_makespan(durations, workers)
    in_order = bounds.list_schedule_makespan(durations, workers)
    bound = total / makespan if makespan > 0 else 1.0
    largest = max(durations)
    n = len(durations)
    if workers <= 1:
        text = "One worker: no parallel speedup is possible."
    elif bound >= 0.97 * workers:
        text = (f"{n} items on {workers} workers can be spread evenly: the items allow "
                f"{bound:.2f}×, close to the ideal {workers}×.")
    else:
        text = (f"{n} items of uneven size ({verdict.fmt_seconds(min(durations))} to "
                f"{verdict.fmt_seconds(largest)}, {verdict.fmt_seconds(total)} in all) cannot be "
                f"split evenly over {workers} workers: the best schedule ends after "
                f"{verdict.fmt_seconds(makespan)}, so the cap is {bound:.2f}×, not {workers}×.")
    return {"workers": workers, "n_items": n, "item_s": durations, "total_s": total,
            "largest_item_s": largest, "makespan_s": makespan, "in_order_makespan_s": in_order,
            "bound": bound, "explanation": text}


def _mode_summary(mode: str, workers: int, status: str, error: str | None,
                  walls: list[float], ref_walls: list[float] | None,
                  cpu: list[float], startup: float | None) -> dict[str, Any]:
    summary = stats.summarise(walls)
    entry: dict[str, Any] = {
        "mode": mode, "workers": workers, "status": status, "error": error,
        "wall_median_s": summary["median"], "wall_iqr_s": summary["iqr"],
        "wall_min_s": summary["min"], "wall_max_s": summary["max"],
        "spread_pct": summary["spread_pct"],
        "noisy": bool(summary["spread_pct"] is not None
                      and summary["spread_pct"] > stats.NOISY_SPREAD_PCT),
        "repeats": len(walls),
        "cpu_median_s": stats.summarise(cpu)["median"],
        "cores_used": stats.summarise([c / w for c, w in zip(cpu, walls, strict=False) if w > 0])["median"],
        "startup_s": startup,
        "speedup": None, "speedup_ci": None, "efficiency": None,
        "bound": None, "achieved_over_bound": None, "overheads": None,
    }
    if mode == "sequential" and walls:
        entry.update(speedup=1.0, efficiency=1.0)
    elif ref_walls and walls and summary["median"]:
        ref_median = stats.summarise(ref_walls)["median"]
        speedup = ref_median / summary["median"]
        entry["speedup"] = speedup
        ci = stats.bootstrap_ratio_ci(ref_walls, walls)
        entry["speedup_ci"] = list(ci) if ci else None
        entry["efficiency"] = speedup / workers
    return entry


def _top_functions(functions: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for _, group in functions.groupby("mode", sort=False):
        top = group.sort_values("self_s", ascending=False).head(TOP_N)
        out += top[["mode", "function", "name", "filename", "lineno", "ncalls", "self_s",
                    "self_pct", "cumulative_s"]].to_dict("records")
    return out


def _top_lines(lines: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for _, group in lines.groupby("mode", sort=False):
        top = group[group["hits"] > 0].sort_values("time_s", ascending=False).head(TOP_N)
        out += top[["mode", "function", "filename", "lineno", "hits", "time_s", "pct",
                    "source"]].to_dict("records")
    return out


def _sweep(timings: pd.DataFrame, ref_walls: list[float] | None,
           seq_tasks: pd.DataFrame) -> dict[str, Any] | None:
    swept = timings[timings["sweep"] & (timings["phase"] == "map")]
    if swept.empty or not ref_walls:
        return None
    ref_median = stats.summarise(ref_walls)["median"]
    durations = (seq_tasks.sort_values("item")["duration_s"].tolist()
                 if not seq_tasks.empty else [])
    points, amdahl = [], {}
    for mode, by_mode in swept.groupby("mode", sort=False):
        per_count: dict[int, list[float]] = {}
        for workers, group in by_mode.groupby("workers"):
            walls = group["wall_s"].tolist()
            per_count[int(workers)] = walls
            median = stats.summarise(walls)["median"]
            ci = stats.bootstrap_ratio_ci(ref_walls, walls)
            points.append({
                "mode": mode, "workers": int(workers), "wall_median_s": median,
                "speedup": ref_median / median if median else None,
                "speedup_ci": list(ci) if ci else None,
                "bound": bounds.granularity_bound(durations, int(workers)) if durations else None,
            })
        if len(per_count) >= 2:
            s, (lo, hi) = bounds.fit_amdahl_bootstrap(ref_walls, per_count)
            amdahl[mode] = {"serial_fraction": s, "ci": [lo, hi],
                            "max_speedup": (1.0 / s) if s > 0 else None}
    return {"points": points, "amdahl": amdahl}


def analyse(frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> dict[str, Any]:
    """Speedups with intervals, bounds, overheads, bottlenecks, classification and verdict."""
    timings, tasks = frames["timings"], frames["tasks"]
    mode_meta: dict[str, Any] = meta.get("modes", {})
    status: dict[str, str] = meta.get("status", {})
    errors: dict[str, str] = meta.get("errors", {})
    warnings: list[str] = []

    ref = "sequential" if status.get("sequential") == "ok" else None
    ref_walls = _map_walls(timings, "sequential", 1, False) if ref else None
    seq_tasks = _mode_tasks(tasks, "sequential") if ref else tasks.iloc[0:0]
    pooled_workers = [info["workers"] for m, info in mode_meta.items() if m != "sequential"]
    grain = _granularity(seq_tasks, max(pooled_workers)) if pooled_workers and ref else None

    modes: dict[str, Any] = {}
    for mode, info in mode_meta.items():
        workers = info["workers"]
        walls = _map_walls(timings, mode, workers, False)
        cpu_rows = timings[(timings["mode"] == mode) & ~timings["sweep"]
                           & (timings["phase"] == "map")]
        entry = _mode_summary(mode, workers, status.get(mode, "ok"), errors.get(mode), walls,
                              ref_walls if mode != "sequential" else walls,
                              cpu_rows["cpu_s"].tolist(), info.get("startup_s"))
        entry["line_items"] = info.get("line_items", [])
        if mode != "sequential" and entry["speedup"] is not None and not seq_tasks.empty:
            durations = seq_tasks.sort_values("item")["duration_s"].tolist()
            entry["bound"] = bounds.granularity_bound(durations, workers)
            entry["achieved_over_bound"] = entry["speedup"] / entry["bound"]
        if mode != "sequential" and entry["status"] == "ok":
            entry["overheads"] = overheads.decompose(
                _mode_tasks(tasks, mode), workers=workers, startup_s=info.get("startup_s"),
                pass_wall_s=info.get("tasks_wall_s"), timing_median_s=entry["wall_median_s"],
                task_bytes=info.get("task_bytes"))
            n_items = meta.get("workload", {}).get("n_items") or 1
            if ref_walls and entry["wall_median_s"] is not None:
                ideal = stats.summarise(ref_walls)["median"] / workers
                entry["overhead_per_task_s"] = max(0.0, entry["wall_median_s"] - ideal) / n_items
        if entry["noisy"]:
            warnings.append(f"{mode}: the repeats spread widely (IQR {entry['spread_pct']:.0f}% "
                            "of the median); the machine may be busy, so treat its numbers with "
                            "care or raise --repeat.")
        modes[mode] = entry

    cpu_source = seq_tasks if not seq_tasks.empty else tasks[~tasks["sweep"] & tasks["ok"]]
    total_duration = float(cpu_source["duration_s"].sum()) if not cpu_source.empty else 0.0
    cpu_ratio = (min(1.0, float(cpu_source["cpu_s"].sum()) / total_duration)
                 if total_duration > 0 else None)
    classification = verdict.classify(cpu_ratio, modes.get("threads"))
    sweep = _sweep(timings, ref_walls, seq_tasks)

    candidates = [{"mode": m["mode"], "workers": m["workers"], "speedup": m["speedup"],
                   "speedup_ci": m["speedup_ci"]} for m in modes.values() if m["status"] == "ok"]
    if sweep:
        candidates += [{k: p[k] for k in ("mode", "workers", "speedup", "speedup_ci")}
                       for p in sweep["points"]]
    recommendation = verdict.recommend(candidates)
    per_task = (float(seq_tasks["duration_s"].median()) if not seq_tasks.empty else None)
    advice = verdict.advise(modes, grain, classification, per_task,
                            int(meta.get("workload", {}).get("n_items") or 0), recommendation)
    if recommendation and recommendation["mode"] == "sequential" and per_task is not None:
        worst = [m.get("overhead_per_task_s") for m in modes.values() if m.get("overhead_per_task_s")]
        if worst:
            recommendation["reason"] += (
                f": each task does {verdict.fmt_seconds(per_task)} of work, while a pool adds "
                f"{verdict.fmt_seconds(min(worst))} or more of overhead per task")
    env = meta.get("environment", {})
    busy = env.get("busy_cpus_before")
    if busy is not None and busy > BUSY_MACHINE_CPUS:
        warnings.insert(0, f"The machine was busy before the run: other programs kept {busy:.1f} of "
                        f"{env.get('cpus_total')} CPUs busy, so timings, speedups and the CPU/wait "
                        "split are distorted. Re-run on a quiet machine for numbers you can trust.")
    if meta.get("interrupted"):
        warnings.append("The run was interrupted: modes that did not finish are marked.")
    return {
        "reference_mode": ref,
        "modes": modes,
        "granularity": grain,
        "classification": classification,
        "bottlenecks": _top_functions(frames["functions"]),
        "hot_lines": _top_lines(frames["lines"]),
        "sweep": sweep,
        "recommendation": recommendation,
        "advice": advice,
        "verdict": verdict.verdict_sentence(modes, classification, recommendation, per_task),
        "warnings": warnings,
    }
