"""The HTML report: one self-contained file (inline CSS, JS and SVG charts) from a Run.

This module assembles the template's context from the section modules under
``profkit/render/report/`` (one module per part of the page) and renders it.
Data shaping lives there, display in the jinja2 templates under ``templates/``
(autoescape on: every string from the run is text, never markup). The only
values marked safe are the ones built from escaped parts: chart SVG
(numbers and sanitised mode names), highlighted source (escaped token by
token), the inlined CSS/JS, and JSON produced by ``htmlsafe_json_dumps``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from profkit.render.charts import MAX_BARS
from profkit.render.names import task_label
from profkit.render.per_call import per_call_chart
from profkit.render.report import (
    about,
    figures,
    functions,
    hot_code,
    items,
    memory,
    scale,
    summary,
    tables,
)
from profkit.render.report.compact import Strings
from profkit.render.report.filters import location
from profkit.render.report.jinja import assets, environment

if TYPE_CHECKING:
    from profkit.record import RunRecord

EXTENSION = ".html"
TEMPLATE = "report.html.j2"
GENERATOR = "profkit report"


def context(run: RunRecord) -> dict[str, object]:
    """Everything the template reads, as plain values (strings are escaped by the template)."""
    from jinja2.utils import htmlsafe_json_dumps

    import profkit
    from profkit.render import calltree

    meta, a = run.meta, run.analysis
    order = summary.mode_order(run)
    tasks, samples = tables.frame(run, "tasks"), tables.frame(run, "memory")
    strings = Strings()
    function_tables = functions.tables(tables.frame(run, "functions"), order, strings, run.meta)
    single = {m: not ((t := summary.traits(a, m)) and t.parallel) for m in order}
    # all three fill the string table before it is written out
    item_table = items.table(tasks, order, strings, single)
    trees = calltree.trees(run.profiles or {}, order, strings)

    workload = dataclasses.replace(meta.workload, task=task_label(meta.workload))
    packages = meta.environment.get("packages")
    bottlenecks = a.bottlenecks
    rec_mode = a.recommendation.mode if a.recommendation else None
    top_bottleneck = next((b for b in bottlenecks if b.mode == rec_mode),
                          bottlenecks[0] if bottlenecks else None)
    return {
        **assets(),
        "generator": GENERATOR,
        "version": profkit.__version__,
        "meta": meta,
        "a": a,
        "single": single,
        "rounds": summary.rounds(meta, a),
        "workload": workload,
        "order": order,
        "status": meta.status,
        "interrupted": meta.interrupted,
        "failures": summary.failures(run, tasks),
        "rec": summary.recommendation(a),
        "top_bottleneck": top_bottleneck,
        "top_location": location(top_bottleneck.filename, top_bottleneck.lineno)
        if top_bottleneck else None,
        "timing_rows": summary.timing_rows(a, order),
        "overheads": summary.overheads(a, order),
        "gc_rows": summary.gc_rows(a, order),
        "gc_policy": str(meta.options.get("gc", "off")),
        "charts": figures.charts(run, a, order, tasks, samples),
        "memory_peaks": memory.peaks(samples, order, a.memory),
        "memory_notes": {m: e for m, e in meta.modes.items() if e.memory_error},
        "memory_lines": memory.lines(run, tables.frame(run, "memory_lines"), order),
        "items": item_table,
        "sampled": scale.sampled(
            meta, scale.timeline_tasks(tasks, [m for m in order
                                       if not ((t := summary.traits(a, m)) and t.reference)]),
            meta.workload.n_items, MAX_BARS,
            bool(item_table and item_table.cut)),
        "per_call": per_call_chart(item_table),
        "functions": function_tables,
        "strings_json": Markup(htmlsafe_json_dumps(strings.to_list(), separators=(",", ":")))
        if strings.index else None,
        "when": about.when(meta),
        "hot_code": hot_code.listings(run, tables.frame(run, "lines"), order),
        "environment": about.environment_rows(meta),
        "packages": sorted(packages.items()) if isinstance(packages, dict) else [],
        "options": about.options(meta),
        "artifacts": about.artifacts(run),
        "top_rows": functions.TOP_ROWS,
        "calltrees": trees,
        "prune_pct": f"{100 * calltree.PRUNE_SHARE:g}%",
        "calltree_js": calltree.script()["js"] if trees else None,
        "extra_script_hashes": [calltree.script()["hash"]] if trees else [],
    }


def render(run: RunRecord) -> str:
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


def check_report_target(target: Path, run_dir: Path | None, named: str, fix: str) -> None:
    """Refuse to write a report over anything profkit did not write: a folder, a file that is
    not a profkit report, or the report of another run folder (one with its own run.json).
    ``named`` names the target in the message (``--output x``), ``fix`` what to choose instead."""
    from profkit.errors import RunDirError, UsageError
    from profkit.store import RUN_FILE

    if target.is_dir():
        raise UsageError(f"{named} is a folder: give a file name such as "
                         f"{target / 'report.html'}")
    if target.exists() or target.is_symlink():
        if target.is_symlink() or not is_report(target):
            raise RunDirError(f"{named} exists and is not a profkit report: choose {fix}, or "
                              "move the file away")
        folder = target.parent.resolve()
        mine = run_dir.resolve() if run_dir is not None else None
        if folder != mine and (folder / RUN_FILE).exists():
            raise RunDirError(f"{named} is the report of another run ({folder}): choose {fix}")
