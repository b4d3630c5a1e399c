"""The HTML report: one self-contained file (inline CSS, JS and SVG charts) from a Run.

Data shaping lives here, display in the jinja2 templates under ``templates/``
(autoescape on: every string from the run is text, never markup). The only
values marked safe are the ones built here from escaped parts: chart SVG
(numbers and sanitised mode names), highlighted source (escaped token by
token), the inlined CSS/JS, and JSON produced by ``htmlsafe_json_dumps``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import shlex
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from profkit.analysis.line_coverage import line_coverage
from profkit.analysis.verdict import fmt_interval, fmt_seconds, fmt_speedup
from profkit.render.names import fmt_duration, task_label
from profkit.render.per_call import fmt_sig, per_call_chart

if TYPE_CHECKING:
    import jinja2
    import pandas as pd

    from profkit.store import Run

EXTENSION = ".html"
TEMPLATE = "report.html.j2"
TEMPLATES = Path(__file__).resolve().parent / "templates"
GENERATOR = "profkit report"

#: Rows of a long table written as HTML (functions, items); the rest are stored as compact
#: column-oriented JSON and built by the page's script on "show all", filter or sort.
TOP_ROWS = 50
TOP_ITEMS = 25
#: Hot-code listings per mode; more functions are listed by name and total only.
MAX_LISTINGS = 10
TICK = 1e-7  # seconds per unit of the JSON times (0.1 µs)


# -- jinja2 ----------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """One cached environment over the package's templates, autoescape on."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2", "xml"),
                                            default_for_string=True, default=True),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(seconds=fmt_seconds_or_dash, times=fmt_times, ci=fmt_ci, pct=fmt_pct,
                       ratio_pct=fmt_ratio_pct,
                       bytes=fmt_bytes, count=fmt_count, v=sort_value, mib=fmt_mib, sig=fmt_sig,
                       duration=fmt_duration)
    return env


@lru_cache(maxsize=1)
def assets() -> dict[str, Any]:
    """The CSS and JS to inline, read once, with the script's CSP hash."""
    from profkit.render.source import style_css

    css = (TEMPLATES / "report.css").read_text(encoding="utf-8") + "\n" + style_css() + "\n"
    js = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    for name, text in (("css", css), ("js", js)):
        if re.search(r"</(script|style)", text, re.I):
            raise RuntimeError(f"report {name} must not contain a closing script/style tag")
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    return {"css": Markup(css), "js": Markup(js), "script_hash": f"sha256-{digest}"}


# -- formatting (also the template filters) --------------------------------


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def fmt_seconds_or_dash(value: Any) -> str:
    v = _num(value)
    return "–" if v is None else fmt_seconds(v)


def fmt_times(value: Any, digits: int = 2) -> str:
    """A speedup: '1.95×'; below 0.5× a slowdown ('301× slower'), never '0.00×'."""
    v = _num(value)
    if v is None:
        return "–"
    if 0 < v < 0.5:
        return fmt_speedup(v)
    return f"{v:.{digits}f}×"


def fmt_ci(value: Any) -> str:
    """A speedup's 95% interval in the same sense as the speedup: '1.70–1.85' or '280–320× slower'."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return ""
    lo, hi = _num(value[0]), _num(value[1])
    if lo is None or hi is None:
        return ""
    return fmt_interval((lo, hi)).replace("×", "") if hi >= 0.5 else fmt_interval((lo, hi))


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A percentage given in percent (12.3 -> '12.3%')."""
    v = _num(value)
    return "–" if v is None else f"{v:.{digits}f}%"


def fmt_ratio_pct(value: Any) -> str:
    """A ratio as a percentage (0.97 -> '97%')."""
    v = _num(value)
    return "–" if v is None else f"{100 * v:.0f}%"


def fmt_bytes(value: Any) -> str:
    v = _num(value)
    if v is None:
        return "–"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(v) >= size:
            return f"{v / size:.1f} {unit}"
    return f"{v:.0f} B"


def fmt_mib(value: Any) -> str:
    v = _num(value)
    return "–" if v is None else f"{v / (1 << 20):.1f} MiB"


def fmt_count(value: Any) -> str:
    v = _num(value)
    return "–" if v is None else f"{v:,.0f}"


def sort_value(value: Any) -> str:
    """The data-v attribute of a sortable cell: a plain number, or empty."""
    v = _num(value)
    return "" if v is None else f"{v:.6g}"


def short_path(filename: str) -> str:
    """The last two parts of a path (the full path goes into a title)."""
    if filename in ("~", ""):
        return "built-in"
    parts = filename.replace("\\", "/").split("/")
    return filename if len(parts) <= 3 else "…/" + "/".join(parts[-2:])


def location(filename: str, lineno: Any) -> str:
    if filename in ("~", ""):
        return "built-in"
    return f"{short_path(filename)}:{lineno}"


_SAFE_REL = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


def safe_relative(path: Any) -> str | None:
    """``path`` if it is a plain relative path inside the run folder (usable as href), else None."""
    if not isinstance(path, str) or not _SAFE_REL.fullmatch(path):
        return None
    if any(part in ("", ".", "..") for part in path.split("/")):
        return None
    return path


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _frame(run: Run, name: str) -> pd.DataFrame:
    import pandas as pd

    from profkit.frames import COLUMNS, empty

    frame = (run.frames or {}).get(name)
    if frame is None:
        return empty(name)
    missing = [c for c in COLUMNS[name] if c not in frame.columns]
    if missing:
        frame = frame.assign(**{c: pd.Series(dtype=COLUMNS[name][c][0]) for c in missing})
    return frame


# -- sections --------------------------------------------------------------


def _mode_order(run: Run) -> list[str]:
    a, meta = run.analysis or {}, run.meta or {}
    order = list((a.get("modes") or {}).keys())
    for source in (meta.get("status") or {}, meta.get("modes") or {}):
        order += [m for m in source if m not in order]
    return order


def _recommendation(a: dict[str, Any]) -> dict[str, Any] | None:
    rec = a.get("recommendation")
    if not rec:
        return None
    out = dict(rec)
    bound = None
    entry = (a.get("modes") or {}).get(rec.get("mode"))
    if entry and entry.get("workers") == rec.get("workers"):
        bound = entry.get("bound")
    if bound is None:
        for p in (a.get("sweep") or {}).get("points") or []:
            if p.get("mode") == rec.get("mode") and p.get("workers") == rec.get("workers"):
                bound = p.get("bound")
    grain = a.get("granularity")
    if bound is None and grain and grain.get("workers") == rec.get("workers"):
        bound = grain.get("bound")
    out["bound"] = bound if rec.get("mode") != a.get("reference_mode") else None
    speedup = _num(rec.get("speedup"))
    bound_value = _num(bound)
    out["of_bound"] = speedup / bound_value if speedup and bound_value else None
    return out


def _failures(run: Run, tasks: pd.DataFrame) -> list[dict[str, Any]]:
    meta = run.meta or {}
    errors = meta.get("errors") or {}
    out = []
    for mode, status in (meta.get("status") or {}).items():
        if status in ("ok", "skipped"):
            continue
        info = (meta.get("modes") or {}).get(mode) or {}
        failed_item = info.get("failed_item")
        mine = tasks[(tasks["mode"] == mode) & ~tasks["sweep"].astype(bool)] if not tasks.empty else tasks
        bad = mine[~mine["ok"].astype(bool)] if not mine.empty else mine
        tracebacks = [str(e) for e in bad["error"].tolist() if isinstance(e, str) and e.strip()][:3]
        if info.get("traceback") and str(info["traceback"]) not in tracebacks:
            tracebacks.append(str(info["traceback"]))
        item_repr = None
        if failed_item is not None and not mine.empty:
            match = mine[mine["item"] == failed_item]
            if not match.empty:
                item_repr = str(match["item_repr"].iloc[0])
        out.append({"mode": mode, "status": status, "error": errors.get(mode),
                    "failed_item": failed_item, "item_repr": item_repr, "tracebacks": tracebacks,
                    "failed_tasks": int(len(bad))})
    return out


def _timing_rows(a: dict[str, Any], order: list[str]) -> list[dict[str, Any]]:
    modes = a.get("modes") or {}
    return [modes[m] for m in order if m in modes]


def _rounds(meta: dict[str, Any]) -> dict[str, Any]:
    """How the timing rounds went, in one phrase."""
    rounds = [r for r in meta.get("rounds") or [] if isinstance(r, dict) and not r.get("sweep")]
    options = meta.get("options") or {}
    spoiled = sum(1 for r in rounds if r.get("spoiled"))
    if options.get("repeat") == "auto":
        how = f"auto: until every speedup is within ±{100 * float(options.get('precision') or 0):g}%"
    else:
        how = "a fixed number"
    text = f"{len(rounds)} interleaved timing round{'s' if len(rounds) != 1 else ''} ({how})"
    if spoiled:
        text += f", {spoiled} set aside because other programs were busy"
    return {"n": len(rounds), "spoiled": spoiled, "text": text}


def _trait(a: dict[str, Any], mode: str, name: str) -> bool:
    """A trait of a mode, as the analysis recorded it."""
    entry = (a.get("modes") or {}).get(mode) or {}
    return bool((entry.get("traits") or {}).get(name))


def _gc_rows(a: dict[str, Any], order: list[str]) -> list[dict[str, Any]]:
    """One row per mode with measured collections."""
    rows = []
    for mode in order:
        entry = (a.get("modes") or {}).get(mode) or {}
        g = entry.get("gc")
        if not g:
            continue
        gen2 = (g.get("by_generation") or {}).get("2") or (g.get("by_generation") or {}).get(2) or {}
        rows.append({"mode": mode, "workers": entry.get("workers"), "collections": g["collections"],
                     "gen2": gen2.get("collections", 0), "seconds": g["seconds"], "share": g["share"]})
    return rows if any(r["collections"] for r in rows) else []


def _overheads(a: dict[str, Any], order: list[str]) -> list[dict[str, Any]]:
    out = []
    for mode in order:
        entry = (a.get("modes") or {}).get(mode)
        if not entry or _trait(a, mode, "reference") or not entry.get("overheads"):
            continue
        o = entry["overheads"]
        total = _num(o.get("parts_total_s")) or 0.0

        def share(value: Any, total: float = total) -> float | None:
            v = _num(value)
            return 100.0 * v / total if v is not None and total > 0 else None

        out.append({
            "mode": mode, "workers": entry.get("workers"), "o": o,
            "shares": {k: share(o.get(k)) for k in ("startup_s", "dispatch_s", "busy_s", "busy_cpu_s",
                                                   "busy_wait_s", "imbalance_s", "collect_s")},
            "pickled": _trait(a, mode, "ships_pickles"),
        })
    return out


def _charts(run: Run, a: dict[str, Any], order: list[str], tasks: pd.DataFrame,
            memory: pd.DataFrame) -> dict[str, Any]:
    from profkit.render import charts

    rows = _timing_rows(a, order)
    out: dict[str, Any] = {"speedup": None, "scaling": None, "gantt": [], "memory": None,
                           "prediction": None}
    pred = a.get("prediction")
    if pred and pred.get("modes"):
        out["prediction"] = charts.prediction_chart(pred)
    out["speedup"] = charts.speedup_chart([r for r in rows if r.get("status") == "ok"])
    sweep = a.get("sweep")
    if sweep and sweep.get("points"):
        out["scaling"] = charts.scaling_chart(sweep["points"], sweep.get("amdahl") or {})
    mode_meta = (run.meta or {}).get("modes") or {}
    if not tasks.empty:
        main = tasks[~tasks["sweep"].astype(bool)]
        for mode in order:
            if _trait(a, mode, "reference"):
                continue
            mine = main[main["mode"] == mode]
            if mine.empty:
                continue
            wall = (mode_meta.get(mode) or {}).get("tasks_wall_s")
            svg = charts.gantt_chart(mine, mode, _num(wall))
            if svg:
                workers = (mode_meta.get(mode) or {}).get("workers") or mine["worker"].nunique()
                out["gantt"].append({"mode": mode, "svg": Markup(svg), "workers": workers,
                                     "used": int(mine["worker"].nunique()), "wall": _num(wall),
                                     "n": int(len(mine))})
    moved = (a.get("memory") or {}).get("moved")
    if moved is not False:  # a flat chart says nothing the table does not; runs before it: keep
        out["memory"] = charts.memory_chart(memory, order)
    for key in ("speedup", "scaling", "memory", "prediction"):
        if out[key]:
            out[key] = Markup(out[key])
    return out


def _memory_peaks(memory: pd.DataFrame, order: list[str],
                  analysed: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    out = []
    for mode in order:
        mine = memory[memory["mode"] == mode]
        if mine.empty:
            continue
        extra = ((analysed or {}).get("modes") or {}).get(mode) or {}
        parent = mine[mine["role"] == "parent"]["rss_bytes"]
        workers = mine[mine["role"] != "parent"]
        total = mine.groupby("t_s")["rss_bytes"].sum()
        out.append({
            "mode": mode,
            "parent_peak": float(parent.max()) if not parent.empty else None,
            "worker_peak": float(workers["rss_bytes"].max()) if not workers.empty else None,
            "workers": int(workers["pid"].nunique()),
            "total_peak": float(total.max()),
            "samples": int(mine["t_s"].nunique()),
            "total_rise": extra.get("total_rise_bytes"),
            "worker_rise": extra.get("worker_rise_bytes"),
            "parent_rise": extra.get("parent_rise_bytes"),
            "per_worker": extra.get("per_worker_bytes"),
            "fits": extra.get("fits"),
            "limited": bool(extra.get("limited")),
            "text": extra.get("text"),
        })
    return out


def _memory_lines(run: Run, frame: pd.DataFrame, order: list[str]) -> list[dict[str, Any]]:
    """Per mode: memory_profiler's lines, which items it covered, what it cost, or why not."""
    meta = run.meta or {}
    names = (meta.get("options") or {}).get("memory_line_functions") or []
    if not names:
        return []
    n_items = (meta.get("workload") or {}).get("n_items")
    out = []
    for mode in order:
        info = (meta.get("modes") or {}).get(mode) or {}
        mine = frame[frame["mode"] == mode] if not frame.empty else frame
        if "memory_line_items" not in info:
            continue
        ran = mine[mine["occurrences"] > 0] if not mine.empty else mine
        top = float(ran["increment_bytes"].max()) if not ran.empty else None
        rows = []
        for r in ran.sort_values(["filename", "func_lineno", "lineno"]).to_dict("records"):
            rows.append({**r, "location": location(str(r["filename"]), r["lineno"]),
                         "top": top is not None and top > 0 and r["increment_bytes"] == top})
        out.append({"mode": mode, "rows": rows, "covered": info.get("memory_line_items") or [],
                    "n_items": n_items, "cost": _num((info.get("phase_s") or {}).get("memory_lines")),
                    "estimate": _num(info.get("memory_lines_estimate_s")),
                    "note": info.get("memory_lines_note")})
    return out


def _seconds_results(values: list[str]) -> bool:
    """True when every result is a float in [0, 1): a task that returns seconds (containers)."""
    if not values:
        return False
    for text in values:
        if not re.fullmatch(r"-?\d+\.\d*(e-?\d+)?|\d+e-?\d+", text or ""):
            return False
        v = float(text)
        if not 0 <= v < 1:
            return False
    return True


def _ticks(seconds: Any) -> int | None:
    v = _num(seconds)
    return None if v is None else round(v / TICK)


def _rest_json(columns: list[list[Any]], row_classes: list[int | None] | None = None) -> Markup | None:
    """Rows for the JS to build on "show all": column-oriented JSON, safe inside a script element."""
    from jinja2.utils import htmlsafe_json_dumps

    if not columns or not columns[0]:
        return None
    data: dict[str, Any] = {"c": columns}
    if row_classes and any(c is not None for c in row_classes):
        data["r"] = row_classes
    return Markup(htmlsafe_json_dumps(data, separators=(",", ":")))


def _items(tasks: pd.DataFrame, order: list[str], strings: _Strings,
           single: dict[str, bool]) -> dict[str, Any] | None:
    """The item table; ``single`` marks the modes with one worker, whose worker column is left out."""
    if tasks.empty:
        return None
    main = tasks[~tasks["sweep"].astype(bool)]
    modes = [m for m in order if (main["mode"] == m).any()]
    if not modes:
        return None
    ref = next((m for m in modes if single.get(m)), modes[0])
    per_mode = {m: {int(r["item"]): r for r in _records(main[main["mode"] == m])} for m in modes}
    items = sorted({i for rows in per_mode.values() for i in rows})
    ok_results = [str(r["result_repr"]) for r in per_mode[ref].values() if r["ok"]]
    seconds = _seconds_results(ok_results)
    result_modes = modes if seconds else [ref]
    rows: list[dict[str, Any]] = []
    n_cols = 2 + len(result_modes) + sum(1 if single.get(m) else 2 for m in modes)
    columns: list[list[Any]] = [[] for _ in range(n_cols)]
    classes: list[int | None] = []
    for n, i in enumerate(items):
        first = next(per_mode[m][i] for m in modes if i in per_mode[m])
        cells: dict[str, dict[str, Any] | None] = {}
        for m in modes:
            r = per_mode[m].get(i)
            if r is None:
                cells[m] = None
                continue
            result_value = None
            if seconds and r["ok"] and r["result_repr"]:
                result_value = _num(float(r["result_repr"]))
            cells[m] = {"duration": _num(r["duration_s"]), "worker": str(r["worker"]), "ok": bool(r["ok"]),
                        "result": str(r["result_repr"]), "result_s": result_value,
                        "output": str(r.get("output") or ""),
                        "output_bytes": int(r.get("output_bytes") or 0)}
        failed = any(c and not c["ok"] for c in cells.values())
        if n < TOP_ITEMS:
            rows.append({"item": i, "repr": str(first["item_repr"]), "cells": cells, "failed": failed})
            continue
        values: list[Any] = [i, strings(str(first["item_repr"]))]
        for m in result_modes:
            c = cells[m]
            if c is None or not c["ok"]:
                values.append(None)
            else:
                values.append(_ticks(c["result_s"]) if seconds else strings(c["result"]))
        for m in modes:
            c = cells[m]
            values.append(_ticks(c["duration"]) if c else None)
            if not single.get(m):
                values.append(strings(c["worker"]) if c else None)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
        classes.append(strings("failed") if failed else None)
    sources, k = [], 2 + len(result_modes)
    for m in modes:
        sources.append(str(k) if single.get(m) else f"{k},{k + 1}")
        k += 1 if single.get(m) else 2
    return {"modes": modes, "ref": ref, "seconds": seconds, "result_modes": result_modes, "rows": rows,
            "n": len(items), "rest": _rest_json(columns, classes), "rest_n": len(columns[0]),
            "duration_src": dict(zip(modes, sources, strict=True)),
            "limit": TOP_ITEMS}


class _Strings:
    """A string table for the compact JSON rows: each distinct string is stored once."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.index)
        return found

    def to_list(self) -> list[str]:
        return list(self.index)


def _ticks_list(values: pd.Series) -> list[int]:
    import numpy as np

    scaled = values.astype("float64").fillna(0.0).to_numpy() / TICK
    ticks: list[int] = np.rint(scaled).astype("int64").tolist()
    return ticks


def _string_ids(values: pd.Series, strings: _Strings) -> list[int]:
    import pandas as pd

    codes, uniques = pd.factorize(values.astype(str))
    ids = [strings(str(u)) for u in uniques]
    return [ids[c] for c in codes.tolist()]


def _functions(functions: pd.DataFrame, order: list[str], strings: _Strings) -> list[dict[str, Any]]:
    """Per mode: the top rows for the template and the rest as compact JSON rows.

    The JSON columns are name, file, line, calls, primitive calls (0 when equal to calls, as
    is usual), self and cumulative time: strings as indexes into the string table, times in
    ticks of 0.1 µs.
    """
    out: list[dict[str, Any]] = []
    for mode in order:
        mine = functions[functions["mode"] == mode]
        if mine.empty:
            continue
        mine = mine.sort_values("self_s", ascending=False, kind="stable")
        total = float(mine["self_s"].sum())
        top = _records(mine.head(TOP_ROWS))
        for r in top:
            r["location"] = location(str(r["filename"]), r["lineno"])
            r["calls"] = (f"{int(r['ncalls']):,}" if int(r["ncalls"]) == int(r["primitive_calls"])
                          else f"{int(r['ncalls']):,}/{int(r['primitive_calls']):,}")
            r["pct_total"] = 100.0 * float(r["self_s"]) / total if total > 0 else None
        rest = mine.iloc[TOP_ROWS:]
        columns: list[list[Any]] = []
        if not rest.empty:
            ncalls = rest["ncalls"].astype("int64")
            primitive = rest["primitive_calls"].astype("int64").where(rest["primitive_calls"] != ncalls, 0)
            columns = [_string_ids(rest["name"], strings), _string_ids(rest["filename"], strings),
                       rest["lineno"].astype("int64").tolist(), ncalls.tolist(), primitive.tolist(),
                       _ticks_list(rest["self_s"]), _ticks_list(rest["cumulative_s"])]
        out.append({"idx": len(out) + 1, "mode": mode, "total": total, "n": int(len(mine)), "rows": top,
                    "rest": _rest_json(columns), "rest_n": int(len(rest))})
    return out


def _hot_lines(a: dict[str, Any], order: list[str]) -> list[dict[str, Any]]:
    rows = a.get("hot_lines") or []
    out = []
    for mode in order:
        mine = [dict(r, location=location(str(r.get("filename", "")), r.get("lineno")))
                for r in rows if r.get("mode") == mode]
        if mine:
            out.append({"mode": mode, "rows": mine})
    return out


def _hot_code(run: Run, lines: pd.DataFrame, order: list[str]) -> list[dict[str, Any]]:
    from profkit.analysis.own_frames import line_time_once, nesting_task
    from profkit.render.source import function_listing

    hot = {h["mode"]: h["rows"] for h in _hot_lines(run.analysis or {}, order)}
    meta = run.meta or {}
    mode_meta = meta.get("modes") or {}
    n_items = (meta.get("workload") or {}).get("n_items")
    out: list[dict[str, Any]] = []
    for mode in order:
        mine = lines[lines["mode"] == mode]
        if mine.empty:
            continue
        groups: list[dict[str, Any]] = []
        for (filename, func_lineno, function), group in mine.groupby(
                ["filename", "func_lineno", "function"], sort=False):
            groups.append({"filename": str(filename), "func_lineno": int(str(func_lineno)),
                           "function": str(function), "total": float(group["time_s"].sum()),
                           "hits": int(group["hits"].sum()), "group": group})
        groups.sort(key=lambda g: -g["total"])
        mode_total = line_time_once(mine, meta)
        listings = []
        for g in groups[:MAX_LISTINGS]:
            listing = function_listing(_records(g.pop("group").sort_values("lineno")))
            listings.append({**g, "listing": listing,
                             "location": location(g["filename"], g["func_lineno"]),
                             "share": 100.0 * g["total"] / mode_total if mode_total > 0 else None})
        others = [{k: v for k, v in g.items() if k != "group"} for g in groups[MAX_LISTINGS:]]
        for g in others:
            g["location"] = location(g["filename"], g["func_lineno"])
        info = mode_meta.get(mode) or {}
        covered = [int(i) for i in info.get("line_items") or []]
        out.append({"mode": mode, "functions": listings, "others": others, "covered": covered,
                    "coverage": line_coverage(info, n_items),
                    "n_items": n_items, "total": mode_total, "hot_lines": hot.get(mode, []),
                    "nesting_task": nesting_task(mine, meta),
                    "n_lines": sum(len(f["listing"]) for f in listings)})
    return out


def _when(meta: dict[str, Any]) -> dict[str, Any]:
    from datetime import datetime

    def parse(text: Any) -> datetime | None:
        try:
            return datetime.fromisoformat(str(text))
        except ValueError:
            return None

    start, end = parse(meta.get("started_at")), parse(meta.get("finished_at"))
    started = (start.strftime("%Y-%m-%d %H:%M:%S") + (f" {start.tzname()}" if start.tzinfo else "")
               if start else None)
    comparable = start is not None and end is not None and bool(start.tzinfo) == bool(end.tzinfo)
    # whole seconds: 0 is "unknown"
    duration = (end - start).total_seconds() if start and end and comparable else None
    return {"started": started, "duration": duration}


def _environment(meta: dict[str, Any]) -> list[tuple[str, str]]:
    env = meta.get("environment") or {}
    cpus = f"{env.get('cpus_available', '?')} available of {env.get('cpus_total', '?')}"
    rows = [
        ("Python", f"{env.get('implementation', '')} {env.get('python', '')}".strip()),
        ("Platform", str(env.get("platform", "–"))),
        ("Machine", str(env.get("machine", "–"))),
        ("CPUs", cpus),
        ("Memory", fmt_bytes(env.get("memory_total_bytes"))),
        ("Start method", str(env.get("start_method", "–"))),
        ("GIL", "enabled" if env.get("gil_enabled", True) else "disabled (free-threaded build)"),
    ]
    busy = env.get("others_cpu_during_run")
    if isinstance(busy, (int, float)) and busy == busy:
        rows.append(("CPUs kept busy by other programs", f"{busy:.2f} on average during the run"))
    rows += [(f"Pool: {mode}", _pool_text(info.get("pool") or {}))
             for mode, info in (meta.get("modes") or {}).items()
             if not (info.get("traits") or {}).get("reference")]
    return rows


def _pool_text(pool: dict[str, Any]) -> str:
    """One line per pool: its size and how it started, or which Dask cluster it used."""
    text = f"{pool.get('workers', '?')} workers"
    if pool.get("start_method"):
        text += f", start method {pool['start_method']}"
    if pool.get("address"):
        text += f", {pool.get('cluster', '')} Dask cluster at {pool['address']}".replace("  ", " ")
        workers = pool.get("worker_info") or []
        if workers:
            threads = sum(int(w.get("nthreads") or 0) for w in workers)
            memory = sum(int(w.get("memory_limit") or 0) for w in workers)
            text += f" ({len(workers)} worker processes, {threads} threads, {fmt_bytes(memory)} memory limit)"
    return text


def _options(meta: dict[str, Any]) -> list[tuple[str, str]]:
    opts = meta.get("options") or {}
    labels = {
        "modes": "Modes", "repeat": "Timed repeats per mode", "warmups": "Warm-up passes",
        "line_functions": "Extra line-profiled functions", "line_budget_s": "Line-profile budget",
        "start_method": "Start method", "timeout_s": "Timeout per mode", "chunksize": "Chunk size",
        "sweep": "Worker sweep", "scheduler": "Dask scheduler",
    }
    rows = []
    for key, value in opts.items():
        if isinstance(value, (list, tuple)):
            text = ", ".join(map(str, value)) or "none"
        elif key.endswith("_s"):
            text = fmt_seconds_or_dash(value) if value is not None else "none"
        elif value is None:
            text = "default"
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = str(value)
        rows.append((labels.get(key, key), text))
    return rows


def _artifacts(run: Run) -> dict[str, Any]:
    meta = run.meta or {}
    art = meta.get("artifacts") or {}
    run_dir = str(run.path.resolve()) if run.path else None  # absolute: the commands run from inside it

    def entries(kind: str) -> list[dict[str, Any]]:
        return [{"name": str(k), "path": str(v), "href": safe_relative(v),
                 "shell": shlex.quote(str(v)), "mode_shell": shlex.quote(str(k)),
                 "py": repr(str(v))}
                for k, v in (art.get(kind) or {}).items()]

    return {"run_dir": run_dir, "cd": f"cd {shlex.quote(run_dir)}" if run_dir else None,
            "profiles": entries("profiles"), "lines": entries("lines"),
            "frames": entries("frames"), "traces": entries("traces"), "memory": entries("memory"),
            "any": bool(art)}


def context(run: Run) -> dict[str, Any]:
    """Everything the template reads, as plain values (strings are escaped by the template)."""
    from jinja2.utils import htmlsafe_json_dumps

    import profkit
    from profkit.render import calltree

    meta, a = run.meta or {}, run.analysis or {}
    order = _mode_order(run)
    tasks, memory = _frame(run, "tasks"), _frame(run, "memory")
    strings = _Strings()
    functions = _functions(_frame(run, "functions"), order, strings)
    single = {m: not _trait(a, m, "parallel") for m in order}
    items = _items(tasks, order, strings, single)  # all three fill the string table before it is written out
    trees = calltree.trees(run.profiles or {}, order, strings)

    workload = dict(meta.get("workload") or {})
    workload["task"] = task_label(workload)
    bottlenecks = a.get("bottlenecks") or []
    rec_mode = (a.get("recommendation") or {}).get("mode")
    top_bottleneck = next((b for b in bottlenecks if b.get("mode") == rec_mode),
                          bottlenecks[0] if bottlenecks else None)
    if top_bottleneck:
        top_bottleneck = dict(top_bottleneck, location=location(str(top_bottleneck.get("filename", "")),
                                                                top_bottleneck.get("lineno")))
    return {
        **assets(),
        "generator": GENERATOR,
        "version": profkit.__version__,
        "meta": meta,
        "a": a,
        "single": single,
        "rounds": _rounds(meta),
        "workload": workload,
        "order": order,
        "status": meta.get("status") or {},
        "interrupted": bool(meta.get("interrupted")),
        "failures": _failures(run, tasks),
        "rec": _recommendation(a),
        "top_bottleneck": top_bottleneck,
        "timing_rows": _timing_rows(a, order),
        "overheads": _overheads(a, order),
        "gc_rows": _gc_rows(a, order),
        "gc_policy": str((meta.get("options") or {}).get("gc", "off")),
        "charts": _charts(run, a, order, tasks, memory),
        "memory_peaks": _memory_peaks(memory, order, a.get("memory")),
        "memory_notes": {m: e for m, e in ((meta.get("modes") or {}).items())
                         if isinstance(e, dict) and e.get("memory_error")},
        "memory_lines": _memory_lines(run, _frame(run, "memory_lines"), order),
        "items": items,
        "per_call": per_call_chart(items),
        "functions": functions,
        "strings_json": Markup(htmlsafe_json_dumps(strings.to_list(), separators=(",", ":")))
        if strings.index else None,
        "when": _when(meta),
        "hot_code": _hot_code(run, _frame(run, "lines"), order),
        "environment": _environment(meta),
        "packages": sorted(((meta.get("environment") or {}).get("packages") or {}).items()),
        "options": _options(meta),
        "artifacts": _artifacts(run),
        "top_rows": TOP_ROWS,
        "calltrees": trees,
        "prune_pct": f"{100 * calltree.PRUNE_SHARE:g}%",
        "calltree_js": calltree.script()["js"] if trees else None,
        "extra_script_hashes": [calltree.script()["hash"]] if trees else [],
    }


def render(run: Run) -> str:
    """The whole report as one string."""
    return environment().get_template(TEMPLATE).render(**context(run))


def written_by(path: Path, generator: str) -> bool:
    """True if ``path`` is an HTML page whose generator tag is ``generator`` (safe to replace)."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{generator}' in head


def is_report(path: Path) -> bool:
    """True if ``path`` is a report this module wrote (safe to replace with a newer one)."""
    return written_by(path, GENERATOR)
