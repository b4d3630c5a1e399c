"""Hot-code listings: a loaded run lists its functions as the run did when it was made."""

from __future__ import annotations

import importlib.util
import linecache
import sys
from pathlib import Path

from line_profiler import LineProfiler

from profkit.analysis.records import Analysis
from profkit.frames import FRAME_NAMES, empty, frame_of, line_rows, line_source_rows
from profkit.record import RunMeta, WorkloadMeta
from profkit.render.report.hot_code import listings
from profkit.run import Run, load

SOURCE = '''\
def crunch(n: int) -> int:
    """Sum of squares."""

    return sum(i * i for i in range(n))
'''


def _line_profiled(tmp_path: Path) -> Run:
    """A run whose lines frame holds a real line profile of ``crunch`` from a file of its own."""
    file = tmp_path / "wl_listing.py"
    file.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("wl_listing_test", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    profiler = LineProfiler()
    profiler.add_function(module.crunch)
    profiler.runcall(module.crunch, 2000)
    stats = profiler.get_stats()
    frames = {name: empty(name) for name in FRAME_NAMES}
    frames["lines"] = frame_of("lines", line_rows("sequential", stats))
    frames["line_source"] = frame_of("line_source", line_source_rows([stats]))
    meta = RunMeta(workload=WorkloadMeta(name="crunch", n_items=1), status={},
                   options={"modes": ["sequential"], "line_budget_s": 0.0})
    return Run(meta=meta, analysis=Analysis(), frames=frames)


def _texts(run: Run) -> list[tuple[int, str, object]]:
    (mode,) = listings(run, run.frames["lines"], ["sequential"])
    functions = mode["functions"]
    assert isinstance(functions, list) and len(functions) == 1
    return [(int(e["lineno"]), str(e["html"]), e["hits"]) for e in functions[0].listing]


def test_a_loaded_run_lists_the_lines_the_profiler_did_not_record(tmp_path):
    made = _line_profiled(tmp_path)
    recorded = set(made.frames["lines"]["lineno"])
    assert 1 not in recorded  # the def line is not measured: its source is saved apart
    in_memory = _texts(made)
    assert [n for n, _, _ in in_memory] == [1, 2, 3, 4]
    assert "crunch" in in_memory[0][1] and "int" in in_memory[0][1]
    assert "Sum of squares" in in_memory[1][1]
    made.save(tmp_path / "run")

    source = tmp_path / "wl_listing.py"
    source.unlink()  # loading and listing must not need it
    linecache.clearcache()
    opened: list[str] = []
    watching = [True]

    def hook(event: str, args: tuple[object, ...]) -> None:
        if watching and event == "open" and isinstance(args[0], (str, Path)):
            opened.append(str(args[0]))

    sys.addaudithook(hook)
    try:
        loaded = load(tmp_path / "run")
        reloaded = _texts(loaded)
    finally:
        watching.clear()
    assert reloaded == in_memory
    run_dir = str((tmp_path / "run").resolve())
    assert any(str(Path(p).resolve()).startswith(run_dir) for p in opened)  # the hook sees opens
    assert not [p for p in opened if p.startswith(str(tmp_path)) and not
                str(Path(p).resolve()).startswith(run_dir)]


def test_a_run_saved_without_line_source_still_loads(tmp_path):
    made = _line_profiled(tmp_path)
    made.save(tmp_path / "run")
    (tmp_path / "run" / "frames" / "line_source.parquet").unlink()
    loaded = load(tmp_path / "run")
    assert loaded.frames["line_source"].empty
    texts = _texts(loaded)
    assert [n for n, _, _ in texts] == [1, 2, 3, 4]
    assert texts[0][1] == ""  # the def line is blank: that run saved no source for it
    assert texts[3][2] == 1
