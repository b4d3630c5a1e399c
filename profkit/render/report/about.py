"""The report's foot: when it ran, the environment, the options and the saved artifacts."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from profkit.fmt import fmt_bytes_scaled, fmt_seconds
from profkit.model import JSON
from profkit.record import Artifacts
from profkit.render.report.filters import safe_relative

if TYPE_CHECKING:
    from profkit.record import RunMeta, RunRecord


def when(meta: RunMeta) -> dict[str, object]:
    """When the run started and how long it took."""
    from datetime import datetime

    def parse(text: object) -> datetime | None:
        try:
            return datetime.fromisoformat(str(text))
        except ValueError:
            return None

    start, end = parse(meta.started_at), parse(meta.finished_at)
    started = (start.strftime("%Y-%m-%d %H:%M:%S") + (f" {start.tzname()}" if start.tzinfo else "")
               if start else None)
    comparable = start is not None and end is not None and bool(start.tzinfo) == bool(end.tzinfo)
    # whole seconds: 0 is "unknown"
    duration = (end - start).total_seconds() if start and end and comparable else None
    return {"started": started, "duration": duration}


def environment_rows(meta: RunMeta) -> list[tuple[str, str]]:
    """The environment table: Python, platform, CPUs, memory, pools."""
    env = meta.environment
    cpus = f"{env.get('cpus_available', '?')} available of {env.get('cpus_total', '?')}"
    rows = [
        ("Python", f"{env.get('implementation', '')} {env.get('python', '')}".strip()),
        ("Platform", str(env.get("platform", "–"))),
        ("Machine", str(env.get("machine", "–"))),
        ("CPUs", cpus),
        ("Memory", fmt_bytes_scaled(env.get("memory_total_bytes"))),
        ("Start method", str(env.get("start_method", "–"))),
        ("GIL", "enabled" if env.get("gil_enabled", True) else "disabled (free-threaded build)"),
    ]
    busy = env.get("others_cpu_during_run")
    if isinstance(busy, (int, float)) and busy == busy:
        rows.append(("CPUs kept busy by other programs", f"{busy:.2f} on average during the run"))
    rows += [(f"Pool: {mode}", pool_text(info.pool))
             for mode, info in meta.modes.items() if not info.traits.reference]
    return rows


def pool_text(pool: dict[str, JSON]) -> str:
    """One line per pool: its size and how it started, or which Dask cluster it used."""
    text = f"{pool.get('workers', '?')} workers"
    if pool.get("start_method"):
        text += f", start method {pool['start_method']}"
    if pool.get("address"):
        text += f", {pool.get('cluster', '')} Dask cluster at {pool['address']}".replace("  ", " ")
        info = pool.get("worker_info")
        workers = [w for w in info if isinstance(w, dict)] if isinstance(info, list) else []
        if workers:
            threads = sum(_count(w.get("nthreads")) for w in workers)
            memory = sum(_count(w.get("memory_limit")) for w in workers)
            limit = fmt_bytes_scaled(memory)
            text += f" ({len(workers)} worker processes, {threads} threads, {limit} memory limit)"
    return text


def _count(value: JSON) -> int:
    """A count a pool recorded, 0 when it recorded none."""
    return int(value) if isinstance(value, (int, float)) and value == value else 0


def options(meta: RunMeta) -> list[tuple[str, str]]:
    """The options table, one labelled row per option."""
    opts = meta.options
    labels = {
        "modes": "Modes", "repeat": "Timed repeats per mode", "warmups": "Warm-up passes",
        "line_functions": "Extra line-profiled functions", "line_budget_s": "Line-profile budget",
        "profile_budget_s": "cProfile budget",
        "start_method": "Start method", "timeout_s": "Timeout per mode", "chunksize": "Chunk size",
        "sweep": "Worker sweep", "scheduler": "Dask scheduler",
    }
    rows = []
    for key, value in opts.items():
        if isinstance(value, (list, tuple)):
            text = ", ".join(map(str, value)) or "none"
        elif key.endswith("_s") and not isinstance(value, str):
            text = fmt_seconds(value) if value is not None else "none"
        elif value is None:
            text = "default"
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = str(value)
        rows.append((labels.get(key, key), text))
    return rows


def artifacts(run: RunRecord) -> dict[str, object]:
    """The saved files per kind, with the shell commands that open them."""
    art = run.meta.artifacts
    run_dir = str(run.path.resolve()) if run.path else None  # absolute: the commands run from inside it

    def entries(files: dict[str, str]) -> list[dict[str, str | None]]:
        return [{"name": k, "path": v, "href": safe_relative(v), "shell": shlex.quote(v),
                 "mode_shell": shlex.quote(k), "py": repr(v)}
                for k, v in files.items()]

    return {"run_dir": run_dir, "cd": f"cd {shlex.quote(run_dir)}" if run_dir else None,
            "profiles": entries(art.profiles), "lines": entries(art.lines),
            "frames": entries(art.frames), "traces": entries(art.traces),
            "memory": entries(art.memory), "any": art != Artifacts()}
