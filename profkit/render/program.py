"""The report of ``profkit run``: the program's timeline, then each pool site and its facts.

Reads the run's ``analysis.program`` facts and its frames; says them. Self-contained
HTML (inline SVG, no scripts), every text escaped.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from profkit.analysis.own_frames import drop_own_functions
from profkit.fmt import fmt_counted, fmt_seconds
from profkit.render.text import site_advice

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunRecord as Run

EXTENSION = ".html"
TOP_FUNCTIONS = 12
#: The most tasks a site's timeline draws: more are thinned evenly (the frame keeps them all).
MAX_DRAWN = 2000
COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")

def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _s(seconds: float | None) -> str:
    return "–" if seconds is None else fmt_seconds(seconds)


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _bytes(total: int, count: int) -> str:
    if not count:
        return "not sized (threads pickle nothing)"
    return f"{total / count:,.0f} B per item and result, over {fmt_counted(count, 'sized task')}"


def _program_timeline(program: dict[str, Any]) -> str:
    wall = max(float(program["wall_s"]), 1e-9)
    sites = program["sites"]
    width, row = 900, 22
    height = row * (len(sites) + 1) + 24
    parts = [f'<svg class="timeline" width="{width}" height="{height}" role="img" '
             f'aria-label="program timeline">',
             f'<rect x="0" y="0" width="{width}" height="{row - 4}" fill="#ccc"/>',
             f'<text x="4" y="{row - 8}" font-size="12">program: {_e(_s(wall))}</text>']
    for k, site in enumerate(sites):
        x = width * site["first_s"] / wall
        w = max(1.0, width * site["wall_s"] / wall)
        y = row * (k + 1)
        colour = COLOURS[k % len(COLOURS)]
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 4}" '
                     f'fill="{colour}"><title>{_e(site["id"])}: {_e(_s(site["wall_s"]))}</title></rect>')
        parts.append(f'<text x="{min(x + w + 4, width - 300):.1f}" y="{y + row - 8}" font-size="12">'
                     f'{_e(site["id"])} {_e(site["method"])}: {_e(_s(site["wall_s"]))}</text>')
    parts.append(f'<text x="0" y="{height - 4}" font-size="11">0 s</text>'
                 f'<text x="{width - 60}" y="{height - 4}" font-size="11">{_e(_s(wall))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _tasks_timeline(site: dict[str, Any], tasks: pd.DataFrame) -> str:
    if tasks.empty:
        return "<p>No task of this site came back.</p>"
    begin, end = float(site["first_s"]), max(float(site["last_s"]), float(tasks["end_s"].max()))
    span = max(end - begin, 1e-9)
    workers = list(dict.fromkeys(tasks.sort_values("start_s")["worker"].astype(str)))
    width, row, left = 900, 18, 110
    height = row * len(workers) + 20
    parts = [f'<svg class="tasks" width="{width + left}" height="{height}" role="img" '
             f'aria-label="tasks of {_e(site["id"])}">']
    for k, worker in enumerate(workers):
        parts.append(f'<text x="0" y="{row * k + 13}" font-size="11">{_e(worker)}</text>')
    index = {w: k for k, w in enumerate(workers)}
    drawn = tasks if len(tasks) <= MAX_DRAWN else tasks.iloc[
        [round(k * (len(tasks) - 1) / (MAX_DRAWN - 1)) for k in range(MAX_DRAWN)]]
    columns = [drawn[c].tolist() for c in ("start_s", "duration_s", "cpu_s", "ok", "worker")]
    for start, duration, cpu, ok, worker in zip(*columns, strict=True):
        x = left + width * (float(start) - begin) / span
        w = max(1.0, width * float(duration) / span)
        colour = "#4e79a7" if bool(ok) else "#e15759"
        parts.append(f'<rect x="{x:.1f}" y="{row * index[str(worker)]}" width="{w:.1f}" '
                     f'height="{row - 3}" fill="{colour}"><title>{_e(_s(float(duration)))}, '
                     f'CPU {_e(_s(float(cpu)))}</title></rect>')
    if len(drawn) < len(tasks):
        parts.append(f'<text x="{left + 300}" y="{height - 3}" font-size="11">{len(drawn):,} of '
                     f'{len(tasks):,} tasks drawn, evenly spread</text>')
    parts.append(f'<text x="{left}" y="{height - 3}" font-size="11">call</text>'
                 f'<text x="{left + width - 60}" y="{height - 3}" font-size="11">+{_e(_s(span))}</text>')
    parts.append("</svg>")
    return "".join(parts)


#: Said of a thread pool's tasks that the program's own profiler recorded (Python 3.12+).
IN_PROGRAM_PROFILE = ("No profile of its own: from Python 3.12 cProfile is one profiler per "
                      "interpreter, so these tasks are in the main process's profile below, "
                      "with every other thread's calls.")
#: Said of the main process's profile when it records every thread (Python 3.12+).
ALL_THREADS = ("On this Python (3.12 and later) cProfile records every thread with one call "
               "stack (CPython gh-110770): calls of the pools' threads are in this profile too, "
               "and where threads overlap its times and recursion counts are unreliable. Python "
               "3.11 profiles the main thread alone.")


def _functions(functions: pd.DataFrame, mode: str, empty: str | None = None) -> str:
    rows = functions[functions["mode"] == mode].sort_values("self_s", ascending=False)
    if rows.empty:
        return f"<p>{_e(empty or 'No profile (the profilers were off, or no task came back).')}</p>"
    out = ["<table><tr><th>function</th><th>calls</th><th>self</th><th>cumulative</th></tr>"]
    for r in rows.head(TOP_FUNCTIONS).to_dict("records"):
        out.append(f"<tr><td>{_e(r['function'])}</td><td>{int(r['ncalls'])}</td>"
                   f"<td>{_e(_s(float(r['self_s'])))}</td>"
                   f"<td>{_e(_s(float(r['cumulative_s'])))}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _coverage(site: dict[str, Any]) -> str:
    """Which tasks the merged profile covers, when not all: workers send their stats now and
    then, and the last few tasks of each may not have been sent."""
    covered, tasks = int(site.get("profiled") or 0), int(site["tasks"])
    if not covered or covered >= tasks:
        return ""
    return (f"<p>It covers {covered:,} of the {tasks:,} tasks: a worker sends its stats with a "
            "result now and then, and its last tasks' stats may not come back.</p>")


def busy_note(site: dict[str, Any]) -> str:
    """What the machine's load does to a site's estimate, when its tasks waited for a core
    much of their time; else ''."""
    if not site.get("machine_busy"):
        return ""
    replay = site.get("replay") or {}
    measured = (replay.get("speedups") or {}).get("processes" if site["processes"] else "threads")
    high = site.get("achieved_high")
    span = (f", so between {_x(site['achieved_estimate'])} (the kernel sharing the cores by "
            f"session) and {_x(high)} (thread by thread)" if high is not None else "")
    return (f"rough: the machine was busy, its tasks waited {_s(site['queued_s'])} for a core"
            f"{span}; " + (f"the replay measured {_x(measured)}" if measured is not None
                           else "profkit run --replay measures it"))


def _estimate(site: dict[str, Any]) -> str:
    """The achieved estimate and what it is made of."""
    text = (f"{_x(site['achieved_estimate'])}: an estimated sequential run of the tasks "
            f"({_s(site.get('sequential_s'))}) over the site's wall; not a measured sequential "
            "run. It is their times on a core of their own")
    cores = site.get("cores")
    if cores is not None and cores < 1:
        text += (f", stretched to the {100 * cores:.0f}% of a core the program's tasks had in "
                 "all (other programs took the rest, and would have made a sequential run wait "
                 "too)")
    text += ("; their waits for a core their own pool mates held are left out, since a "
             "sequential run has none")
    note = busy_note(site)
    return text + (f". {note[0].upper()}{note[1:]}" if note else "")


def _site(site: dict[str, Any], tasks: pd.DataFrame, functions: pd.DataFrame) -> str:
    split = site.get("overheads")
    facts = [
        ("call site", f"{site['filename']}:{site['lineno']} in {site['function']}()"),
        ("pool", f"{site['method']}, {site['workers']} "
                 f"{'processes' if site['processes'] else 'threads'}"
                 + (f", start method {site['start_method']}" if site["start_method"] else "")
                 + (f", chunksize {site['chunksize']}" if site["chunksize"] else "")),
        ("task", site["task"]),
        ("tasks", f"{site['tasks']} in {fmt_counted(site['calls'], 'call')}"
                  + (f", {site['failed']} failed" if site["failed"] else "")),
        ("wall", f"{_s(site['wall_s'])} from the first call to the last result back"
                 + (f", less the {_s(site['idle_s'])} between its calls when it had nothing "
                    "under way" if site.get("idle_s") else "")
                 + f"; the program waited {_s(site['wait_s'])} of it for results"),
        ("task time", f"{_s(site['task_sum_s'])} in all (their waits for a busy core"
                      + (", and for the GIL the threads' computing filled,"
                         if site.get("gil_waits_left_out") else "")
                      + " left out), "
                      f"{_s(site['cpu_sum_s'])} of CPU"
                      + ("; timed under cProfile, which slows Python code: "
                         "profkit run --timeline-only times them bare"
                         if site.get("profiled") else "")),
        ("speedup achieved (estimate)", _estimate(site)),
        ("work", f"{site.get('work') or 'unknown'}: the tasks compute "
                 f"{100 * (site.get('cpu_ratio') or 0):.0f}% of their time"),
        ("bound", f"{_x(site['bound'])}: the best any schedule of these tasks allows on "
                  f"{site['workers']} workers"
                  + (", capped by the CPUs" if site["cpu_cap"] is not None
                     and site["bound"] is not None and site["cpu_cap"] <= site["bound"] else "")
                  + f" (the pool's own order: {_x(site['dispatch_bound'])})"),
        ("pickled sizes", _bytes(site["item_bytes"] + site["result_bytes"], site["sized"])),
    ]
    replay = site.get("replay")
    if replay and replay.get("folder"):
        measured = ", ".join(f"{mode} {_x(x)}" for mode, x in replay["speedups"].items())
        facts.append(("replayed (measured)",
                      f"sequential {_s(replay['sequential_s'])}; against it: {measured} on "
                      f"{site['workers']} workers; the replay's report: "
                      f"{replay['folder']}/index.html"))
    elif replay:
        facts.append(("replayed", f"not replayed: {replay['note']}"))
    if split:
        facts.append(("where the wall went",
                      ", ".join(f"{name} {_s(split[key])}" for name, key in (
                          ("start-up", "startup_s"), ("dispatch", "dispatch_s"),
                          ("busy", "busy_s"), ("imbalance", "imbalance_s"),
                          ("collection", "collect_s")))))
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    advice = "".join(f"<li>{_e(line)}</li>" for line in site_advice(site))
    return (f'<section class="site" id="{_e(site["id"])}"><h2>{_e(site["id"])}: '
            f'{_e(site["method"])}({_e(site["task"])}) at {_e(site["filename"])}:'
            f'{_e(site["lineno"])}</h2><table class="facts">{body}</table>'
            + (f"<h3>Advice</h3><ul>{advice}</ul>" if advice else "")
            + "<h3>Tasks</h3>" + _tasks_timeline(site, tasks)
            + "<h3>Workers' profile, merged</h3>" + _coverage(site)
            + _functions(functions, site["id"],
                         IN_PROGRAM_PROFILE if site.get("in_program_profile") else None)
            + "</section>")


def render(run: Run) -> str:
    """The report as one HTML page."""
    program = run.analysis.program or {}
    tasks, functions = run.frames["tasks"], drop_own_functions(run.frames["functions"])
    ended = f"exit code {program['exit_code']}"
    if program["interrupted"]:
        ended += " (interrupted: what was measured until then)"
    elif program["error"]:
        ended += f" ({program['error']} raised)"
    sites = program["sites"]
    head = (f"<p><code>profkit run {_e(program['command'])}</code>: {_e(ended)}, "
            f"{_e(_s(program['wall_s']))} of wall, start method {_e(program['start_method'])}, "
            f"{fmt_counted(program['cpus'], 'CPU')}"
            + (f", started {_e(run.meta.started_at)}" if run.meta.started_at else "") + ".</p>")
    if sites:
        head += (f"<p>{fmt_counted(len(sites), 'pool site')}; pools were under way for "
                 f"{_e(_s(program['in_sites_s']))} of the program's {_e(_s(program['wall_s']))}."
                 "</p>" + _program_timeline(program))
    else:
        head += "<p>No pool was seen: this is a plain profile of the program.</p>"
    body = "".join(_site(s, tasks[tasks["mode"] == s["id"]], functions) for s in sites)
    waits = "".join(f"<tr><td>waiting on {_e(s['id'])} ({_e(s['method'])} at "
                    f"{_e(s['filename'])}:{_e(s['lineno'])})</td><td>{_e(_s(s['wait_s']))}</td></tr>"
                    for s in sites)
    all_threads = bool(program.get("profile_all_threads"))
    main = ("<section><h2>Main process</h2>"
            + (f"<table><tr><th>pool site</th><th>time the program waited on it</th></tr>{waits}"
               "</table>" + ("" if all_threads else
                             "<p>The profile below shows those waits as the locks they wait "
                             "on.</p>")
               if sites else "")
            + (f"<p>{_e(ALL_THREADS)}</p>" if all_threads else "")
            + _functions(functions, "main") + "</section>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:"
             "collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;"
             "vertical-align:top}table.facts th{width:14em}")
    import profkit
    from profkit.render.html import GENERATOR

    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"generator\" content=\"{GENERATOR} {_e(profkit.__version__)}\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"
            f"<title>profkit run "
            f"{_e(program['command'])}</title><style>{style}</style></head><body>"
            f"<h1>profkit run</h1>{head}{body}{main}</body></html>")


def summary_lines(run: Run) -> list[str]:
    """One line per site for the terminal: where, what, and how it paid."""
    import os

    program = run.analysis.program or {}
    if not program["sites"]:
        return ["no pool was seen"]
    return [f"{s['id']} {os.path.basename(s['filename'])}:{s['lineno']} {s['method']}({s['task']}): "
            f"{fmt_counted(s['tasks'], 'task')} in {_s(s['wall_s'])}, speedup ~{_x(s['achieved_estimate'])} "
            f"(estimate{'; ' + busy_note(s) if busy_note(s) else ''}), bound {_x(s['bound'])} "
            f"on {fmt_counted(s['workers'], 'worker')}"
            for s in program["sites"]]
