"""analyse(frames, meta) -> the JSON-able summary described in :mod:`profkit.analysis`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from profkit.analysis import bounds, overheads, stats, verdict
from profkit.analysis import memory as memory_analysis

TOP_N = 10
BUSY_MACHINE_CPUS = 0.5  # warn when others kept more than half a CPU busy before the run


def _map_walls(timings: pd.DataFrame, mode: str, workers: int, sweep: bool) -> list[float]:
    rows = timings[(timings["mode"] == mode) & (timings["workers"] == workers)
                   & (timings["sweep"] == sweep) & (timings["phase"] == "map")]
    return rows["wall_s"].tolist()


def _round_walls(timings: pd.DataFrame, mode: str, workers: int, sweep: bool) -> dict[int, float]:
    """Round -> wall seconds of a mode's timed maps, spoiled rounds set aside.

    If fewer than two clean rounds remain, every round counts (and a warning says so).
    """
    rows = timings[(timings["mode"] == mode) & (timings["workers"] == workers)
                   & (timings["sweep"] == sweep) & (timings["phase"] == "map")]
    clean = rows[~rows["spoiled"].astype(bool)] if "spoiled" in rows else rows
    use = clean if len(clean) >= 2 else rows
    return dict(zip(use["repeat"].astype(int), use["wall_s"].astype(float), strict=True))


def _paired_speedup(ref: dict[int, float], walls: dict[int, float]) -> stats.RatioEstimate | None:
    common = sorted(set(ref) & set(walls))
    return stats.paired_ratio([ref[r] for r in common], [walls[r] for r in common])


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


def _mode_summary(mode: str, workers: int, traits: dict[str, Any], status: str, error: str | None,
                  walls_by_round: dict[int, float], ref_by_round: dict[int, float] | None,
                  cpu: list[float], walls_all: list[float], startup: float | None,
                  target_precision: float) -> dict[str, Any]:
    walls = list(walls_by_round.values())
    summary = stats.summarise(walls)
    entry: dict[str, Any] = {
        "mode": mode, "workers": workers, "traits": traits, "status": status, "error": error,
        "wall_median_s": summary["median"], "wall_iqr_s": summary["iqr"],
        "wall_min_s": summary["min"], "wall_max_s": summary["max"],
        "spread_pct": summary["spread_pct"],
        "noisy": bool(summary["spread_pct"] is not None
                      and summary["spread_pct"] > stats.NOISY_SPREAD_PCT),
        "repeats": len(walls),
        "cpu_median_s": stats.summarise(cpu)["median"],
        "cores_used": stats.summarise([c / w for c, w in zip(cpu, walls_all, strict=False)
                                       if w > 0])["median"],
        "startup_s": startup,
        "speedup": None, "speedup_ci": None, "efficiency": None,
        "bound": None, "achieved_over_bound": None, "overheads": None,
        "precision": None, "precision_target": target_precision, "precision_reached": None,
    }
    if traits.get("reference") and walls:
        entry.update(speedup=1.0, efficiency=1.0)
        level = stats.level_estimate(walls)
        if level is not None and ref_by_round is None:
            entry["precision"] = level.half_width
    elif ref_by_round and walls:
        ratio = _paired_speedup(ref_by_round, walls_by_round)
        if ratio is not None:
            entry["speedup"] = ratio.value
            entry["speedup_ci"] = [ratio.low, ratio.high] if ratio.low is not None else None
            entry["efficiency"] = ratio.value / workers
            entry["precision"] = ratio.half_width
            entry["paired_rounds"] = ratio.n
    elif walls:
        level = stats.level_estimate(walls)
        entry["precision"] = level.half_width if level else None
    if entry["precision"] is not None:
        entry["precision_reached"] = bool(entry["precision"] <= target_precision)
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


def _sweep(timings: pd.DataFrame, ref_mode: str | None,
           seq_tasks: pd.DataFrame) -> dict[str, Any] | None:
    swept = timings[timings["sweep"] & (timings["phase"] == "map")]
    if swept.empty or ref_mode is None:
        return None
    ref_rows = timings[(timings["mode"] == ref_mode) & ~timings["sweep"] & (timings["phase"] == "map")]
    ref_by_round = dict(zip(ref_rows["repeat"].astype(int), ref_rows["wall_s"].astype(float),
                            strict=True))
    durations = (seq_tasks.sort_values("item")["duration_s"].tolist()
                 if not seq_tasks.empty else [])
    points, amdahl = [], {}
    for mode, by_mode in swept.groupby("mode", sort=False):
        per_count: dict[int, list[float]] = {}
        ref_walls: list[float] = []
        for workers in sorted(by_mode["workers"].unique()):
            walls_by_round = _round_walls(timings, str(mode), int(workers), True)
            per_count[int(workers)] = list(walls_by_round.values())
            ref_walls += [ref_by_round[r] for r in walls_by_round if r in ref_by_round]
            ratio = _paired_speedup(ref_by_round, walls_by_round)
            points.append({
                "mode": mode, "workers": int(workers),
                "wall_median_s": stats.summarise(list(walls_by_round.values()))["median"],
                "speedup": ratio.value if ratio else None,
                "speedup_ci": [ratio.low, ratio.high] if ratio and ratio.low is not None else None,
                "bound": bounds.granularity_bound(durations, int(workers)) if durations else None,
            })
        if len(per_count) >= 2 and ref_walls:
            s, (lo, hi) = bounds.fit_amdahl_bootstrap(ref_walls, per_count)
            amdahl[mode] = {"serial_fraction": s, "ci": [lo, hi],
                            "max_speedup": (1.0 / s) if s > 0 else None}
    return {"points": points, "amdahl": amdahl}


def _traits(info: dict[str, Any]) -> dict[str, Any]:
    traits = info.get("traits")
    return traits if isinstance(traits, dict) else {}


def _round_warnings(meta: dict[str, Any]) -> list[str]:
    """What the rounds say about other programs' load during the run."""
    rounds = [r for r in meta.get("rounds") or [] if isinstance(r, dict)]
    spoiled = [r for r in rounds if r.get("spoiled")]
    out = []
    if spoiled:
        worst = max(float(r.get("others_cpu") or 0) for r in spoiled)
        limit = meta.get("options", {}).get("spoiled_cores")
        out.append(f"{len(spoiled)} of {len(rounds)} timing rounds were set aside: other programs "
                   f"kept up to {worst:.2f} cores busy during them (the limit is "
                   f"{limit if limit is not None else '?'} of a core); the estimates use the "
                   "other rounds.")
    clean = [float(r["others_cpu"]) for r in rounds if not r.get("spoiled")
             and isinstance(r.get("others_cpu"), (int, float)) and r["others_cpu"] == r["others_cpu"]]
    env = meta.get("environment", {})
    during = env.get("others_cpu_during_run")
    if rounds and len(spoiled) * 2 > len(rounds) or (
            isinstance(during, (int, float)) and during == during and during > BUSY_MACHINE_CPUS):
        busy = during if isinstance(during, (int, float)) and during == during else \
            (max(clean) if clean else 0.0)
        out.insert(0, f"The machine was busy: other programs kept {busy:.1f} of "
                   f"{env.get('cpus_total')} CPUs busy on average during the run, so timings, "
                   "speedups and the CPU/wait split may be distorted. Re-run on a quiet machine "
                   "for numbers you can trust.")
    return out


def analyse(frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> dict[str, Any]:
    """Speedups with intervals, bounds, overheads, bottlenecks, classification and verdict."""
    timings, tasks = frames["timings"], frames["tasks"]
    mode_meta: dict[str, Any] = meta.get("modes", {})
    status: dict[str, str] = meta.get("status", {})
    errors: dict[str, str] = meta.get("errors", {})
    target_precision = float(meta.get("options", {}).get("precision") or 0.03)
    warnings: list[str] = []

    ref = next((m for m, info in mode_meta.items() if _traits(info).get("reference")
                and status.get(m) in ("ok", "interrupted")), None)
    ref_by_round = _round_walls(timings, ref, 1, False) if ref else None
    ref_walls = list(ref_by_round.values()) if ref_by_round else None
    seq_tasks = _mode_tasks(tasks, ref) if ref else tasks.iloc[0:0]
    pooled_workers = [info["workers"] for m, info in mode_meta.items()
                      if not _traits(info).get("reference")]
    grain = _granularity(seq_tasks, max(pooled_workers)) if pooled_workers and ref else None

    modes: dict[str, Any] = {}
    for mode, info in mode_meta.items():
        workers = info["workers"]
        traits = _traits(info)
        is_ref = bool(traits.get("reference"))
        by_round = _round_walls(timings, mode, workers, False)
        cpu_rows = timings[(timings["mode"] == mode) & ~timings["sweep"]
                           & (timings["phase"] == "map")]
        entry = _mode_summary(mode, workers, traits, status.get(mode, "ok"), errors.get(mode),
                              by_round, None if len(mode_meta) == 1 else ref_by_round,
                              cpu_rows["cpu_s"].tolist(), cpu_rows["wall_s"].tolist(),
                              info.get("startup_s"), target_precision)
        entry["line_items"] = info.get("line_items", [])
        if not is_ref and entry["speedup"] is not None and not seq_tasks.empty:
            durations = seq_tasks.sort_values("item")["duration_s"].tolist()
            entry["bound"] = bounds.granularity_bound(durations, workers)
            entry["achieved_over_bound"] = entry["speedup"] / entry["bound"]
        if not is_ref and entry["status"] == "ok":
            entry["overheads"] = overheads.decompose(
                _mode_tasks(tasks, mode), workers=workers, startup_s=info.get("startup_s"),
                pass_wall_s=info.get("tasks_wall_s"), timing_median_s=entry["wall_median_s"],
                task_bytes=info.get("task_bytes"))
            n_items = meta.get("workload", {}).get("n_items") or 1
            if ref_walls and entry["wall_median_s"] is not None:
                ideal = stats.summarise(ref_walls)["median"] / workers
                entry["overhead_per_task_s"] = max(0.0, entry["wall_median_s"] - ideal) / n_items
        if entry["precision_reached"] is False:
            warnings.append(f"{mode}: its estimate is known only to ±{100 * entry['precision']:.1f}% "
                            f"(target ±{100 * target_precision:g}%) after {entry['repeats']} "
                            "rounds; raise --max-rounds or --max-time, or run on a quieter machine.")
        modes[mode] = entry

    cpu_source = seq_tasks if not seq_tasks.empty else tasks[~tasks["sweep"] & tasks["ok"]]
    total_duration = float(cpu_source["duration_s"].sum()) if not cpu_source.empty else 0.0
    cpu_ratio = (min(1.0, float(cpu_source["cpu_s"].sum()) / total_duration)
                 if total_duration > 0 else None)
    gil_sharing = next((m for m in modes.values() if m["traits"].get("shares_gil")
                        and m["traits"].get("parallel")), None)
    classification = verdict.classify(cpu_ratio, gil_sharing)
    sweep = _sweep(timings, ref, seq_tasks)

    candidates = [{"mode": m["mode"], "workers": m["workers"], "speedup": m["speedup"],
                   "speedup_ci": m["speedup_ci"]} for m in modes.values() if m["status"] == "ok"]
    if sweep:
        candidates += [{k: p[k] for k in ("mode", "workers", "speedup", "speedup_ci")}
                       for p in sweep["points"]]
    recommendation = verdict.recommend(candidates, ref, {m: e["traits"] for m, e in modes.items()})
    per_task = (float(seq_tasks["duration_s"].median()) if not seq_tasks.empty else None)
    advice = verdict.advise(modes, grain, classification, per_task,
                            int(meta.get("workload", {}).get("n_items") or 0), recommendation)
    if recommendation and recommendation["mode"] == ref and per_task is not None:
        worst = [m.get("overhead_per_task_s") for m in modes.values() if m.get("overhead_per_task_s")]
        if worst:
            recommendation["reason"] += (
                f": each task does {verdict.fmt_seconds(per_task)} of work, while a pool adds "
                f"{verdict.fmt_seconds(min(worst))} or more of overhead per task")
    # -- memory (profkit.analysis.memory): peaks per worker and per mode, RAM as the limit
    memory = memory_analysis.summarise(frames.get("memory"), meta)
    advice += memory["limits"]
    # -- end memory
    warnings[0:0] = _round_warnings(meta)
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
        "memory": memory,
    }
