"""Classify the workload, pick the best mode, and say why in plain words."""

from __future__ import annotations

from typing import Any

CPU_BOUND_RATIO = 0.8
IO_BOUND_RATIO = 0.3
GAIN_THRESHOLD = 1.10  # below this speedup a pool "does not pay"
GIL_CORES = 1.3  # threads that keep fewer cores than this busy are serialised
SIMPLER_WITHIN = 0.05  # prefer a simpler mode within 5% of the best


def fmt_seconds(seconds: float | None) -> str:
    """Seconds in the unit that reads best: s, ms or µs."""
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _is_ref(m: dict[str, Any]) -> bool:
    return bool((m.get("traits") or {}).get("reference"))


def _shares_gil(m: dict[str, Any]) -> bool:
    traits = m.get("traits") or {}
    return bool(traits.get("shares_gil") and traits.get("parallel"))


def classify(cpu_ratio: float | None, threads: dict[str, Any] | None) -> dict[str, Any] | None:
    """CPU-bound, I/O-bound or mixed, from CPU / wall per task and threads vs sequential."""
    if cpu_ratio is None:
        return None
    if cpu_ratio >= CPU_BOUND_RATIO:
        kind = "cpu-bound"
    elif cpu_ratio <= IO_BOUND_RATIO:
        kind = "io-bound"
    else:
        kind = "mixed"
    threads_speedup = threads.get("speedup") if threads else None
    thread_workers = threads.get("workers", 1) if threads else 1
    cores = threads.get("cores_used") if threads else None
    # CPU seconds per wall second of the threads run tell the GIL apart from noise in the
    # speedup: serialised threads keep one core busy however many there are.
    if cores is not None:
        serialised = cores < GIL_CORES
    else:
        serialised = threads_speedup is not None and threads_speedup < GAIN_THRESHOLD
    gil_bound = bool(kind != "io-bound" and thread_workers > 1 and serialised)
    releases_gil = bool(kind == "cpu-bound" and thread_workers > 1 and not serialised
                        and threads_speedup is not None)
    pct = f"{100 * cpu_ratio:.0f}%"
    if kind == "cpu-bound":
        text = f"CPU-bound: the tasks spend {pct} of their time computing."
        if gil_bound:
            # without a sequential run there is no speedup, only the cores the threads kept busy
            gives = f" give {threads_speedup:.2f}×" if threads_speedup is not None else ""
            busy = f", keeping {cores:.1f} of {thread_workers} cores busy" if cores else ""
            text += (f" Threads{gives}{busy}: pure Python holds the GIL, so "
                     "only one thread computes at a time.")
        elif releases_gil:
            text += (f" Threads give {threads_speedup:.2f}× and keep {cores or 0:.1f} cores busy, "
                     "so the hot code releases the GIL (C code such as hashlib, zlib or NumPy).")
    elif kind == "io-bound":
        text = f"I/O-bound: the tasks compute only {pct} of the time and wait for the rest."
        if threads_speedup is not None:
            text += (f" Threads give {threads_speedup:.2f}×: waiting releases the GIL, so "
                     "threads overlap the waits.")
    else:
        text = f"Mixed: the tasks compute {pct} of the time and wait for the rest."
    return {"kind": kind, "cpu_ratio": cpu_ratio, "threads_speedup": threads_speedup,
            "gil_bound": gil_bound, "explanation": text}


def mode_cost(traits: dict[str, Any]) -> int:
    """How much machinery a mode needs: the plain loop, threads, local processes, a cluster."""
    if traits.get("reference"):
        return 0
    if traits.get("shares_memory"):
        return 1
    if traits.get("worker_label") == "address":
        return 3
    return 2


def recommend(candidates: list[dict[str, Any]], reference: str | None,
              traits: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The simplest mode whose speedup is within 5% of the best; the reference if none pays.

    Each candidate has mode, workers, speedup and speedup_ci.
    """
    usable = [c for c in candidates if c.get("speedup") is not None]
    if not usable:
        return None
    best = max(usable, key=lambda c: c["speedup"])
    if best["speedup"] < GAIN_THRESHOLD or best["mode"] == reference:
        ref = next((c for c in usable if c["mode"] == reference), None)
        return {"mode": reference or best["mode"], "workers": 1, "speedup": 1.0,
                "speedup_ci": ref.get("speedup_ci") if ref else None,
                "reason": "no pooled mode is at least 10% faster than the plain loop"}
    near = [c for c in usable if c["mode"] != reference
            and c["speedup"] >= best["speedup"] * (1 - SIMPLER_WITHIN)]
    choice = min(near, key=lambda c: (mode_cost(traits.get(c["mode"], {})), c["workers"],
                                      -c["speedup"]))
    reason = "the fastest mode" if choice is best else (
        f"within 5% of the fastest ({best['mode']}:{best['workers']}, {best['speedup']:.2f}×) "
        "and cheaper to run")
    return {"mode": choice["mode"], "workers": choice["workers"], "speedup": choice["speedup"],
            "speedup_ci": choice.get("speedup_ci"), "reason": reason}


def advise(modes: dict[str, Any], granularity: dict[str, Any] | None,
           classification: dict[str, Any] | None, per_task_s: float | None,
           n_items: int, recommendation: dict[str, Any] | None) -> list[str]:
    """Concrete advice where it applies: chunksize, split items, threads for I/O, processes."""
    advice: list[str] = []
    pooled = [m for m in modes.values() if not _is_ref(m) and m.get("speedup")]
    kind = classification["kind"] if classification else None
    losing = [m for m in pooled if m["speedup"] < 1.0]
    if pooled and len(losing) == len(pooled) and per_task_s is not None:
        worst = max(losing, key=lambda m: m.get("overhead_per_task_s") or 0)
        overhead = worst.get("overhead_per_task_s")
        advice.append(
            f"Do not parallelise this as it is: each task does {fmt_seconds(per_task_s)} of work, "
            f"while {worst['mode']} adds about {fmt_seconds(overhead)} of overhead per task.")
    if per_task_s is not None and per_task_s < 1e-3 and pooled:
        chunk = max(1, n_items // (4 * max(m["workers"] for m in pooled)))
        advice.append(
            f"Batch tiny tasks: at {fmt_seconds(per_task_s)} per task, pass chunksize={chunk} to "
            "executor.map (or group items yourself) so each dispatch carries real work.")
    if granularity and granularity["workers"] > 1:
        w = granularity["workers"]
        if granularity["bound"] < 0.9 * w:
            share = 100 * granularity["largest_item_s"] / granularity["total_s"]
            advice.append(
                f"Split large items: with {granularity['n_items']} items on {w} workers the best "
                f"schedule allows {granularity['bound']:.2f}×, not {w}×; the largest item is "
                f"{share:.0f}% of the work. Smaller, more even items raise that cap.")
        if granularity.get("in_order_makespan_s", 0) > granularity["makespan_s"] * 1.05:
            advice.append("Submit the longest items first: in the given order the pool finishes "
                          f"in {fmt_seconds(granularity['in_order_makespan_s'])} of work per "
                          f"worker, longest-first in {fmt_seconds(granularity['makespan_s'])}.")
    if kind == "io-bound":
        advice.append("Use threads for I/O: the tasks mostly wait, threads overlap the waits "
                      "without pickling, and more threads than CPUs keep helping until the "
                      "server or the network saturates.")
    overhead_bound = bool(pooled and len(losing) == len(pooled))
    if classification and classification["gil_bound"] and not overhead_bound:
        advice.append("Use processes for CPU-bound Python: threads are held back by the GIL.")
    ref = next((m["mode"] for m in modes.values() if _is_ref(m)), None)
    if recommendation and recommendation["mode"] == ref and not losing and pooled:
        advice.append("Parallelism does not pay here: keep the plain loop.")
    return advice


def _slowdown_cause(m: dict[str, Any], gil: bool, per_task_s: float | None) -> str:
    """Why a pool lost: its per-task overhead outweighs the work, or (threads) the GIL."""
    overhead = m.get("overhead_per_task_s")
    if overhead is not None and per_task_s is not None and overhead > per_task_s:
        return "overhead"
    return "the GIL" if gil and _shares_gil(m) else "overhead"


def verdict_sentence(modes: dict[str, Any], classification: dict[str, Any] | None,
                     recommendation: dict[str, Any] | None, per_task_s: float | None = None) -> str:
    """One sentence per mode, joined: the headline at the top of the report."""
    parts = []
    gil = bool(classification and classification["gil_bound"])
    for m in modes.values():
        if _is_ref(m):
            continue
        if m["status"] != "ok":
            parts.append(f"{m['mode']}: {m['status']}")
            continue
        s = m.get("speedup")
        if s is None:
            continue
        where = f"on {m['workers']} worker{'s' if m['workers'] != 1 else ''}"
        if s >= GAIN_THRESHOLD:
            text = f"{m['mode']}: {s:.2f}× faster than sequential {where}"
            if m.get("bound"):
                text += f" ({100 * s / m['bound']:.0f}% of the {m['bound']:.2f}× the items allow)"
        elif s > 1 / GAIN_THRESHOLD:
            text = f"{m['mode']}: no gain {where}" + (" (the GIL)" if gil and _shares_gil(m) else "")
        else:
            cause = _slowdown_cause(m, gil, per_task_s)
            text = f"{m['mode']}: {1 / s:.1f}× slower than sequential {where} ({cause})"
        parts.append(text)
    head = ""
    if recommendation:
        rec = recommendation
        if any(_is_ref(m) and m["mode"] == rec["mode"] for m in modes.values()):
            head = f"Recommended: stay {rec['mode']}. "
        else:
            ci = rec.get("speedup_ci")
            ci_text = f", 95% CI {ci[0]:.2f}–{ci[1]:.2f}×" if ci else ""
            head = (f"Recommended: {rec['mode']} with {rec['workers']} workers "
                    f"({rec['speedup']:.2f}×{ci_text}). ")
    return head + ("; ".join(parts) + "." if parts else "Only one mode was measured.")
