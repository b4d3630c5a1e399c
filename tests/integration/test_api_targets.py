"""``profkit.profile(target, items, **options)`` as a new user calls it.

Each kind of target (a decorated function, a plain function with items, a lambda), a closure over a
local variable in every mode, a closure nothing can ship (only the modes that ship pickles fail),
and every mistake in a call raising a ProfkitError that names the fix. Real pools, a real embedded
Dask LocalCluster, real profilers.
"""

from __future__ import annotations

import argparse
import inspect
import multiprocessing
import os
import pickle
import pydoc
import threading
from pathlib import Path

import cloudpickle
import pytest

import profkit
from profkit.errors import ProfkitWarning, UsageError, WorkloadError
from tests.conftest import require
from tests.fixtures import counting

FAST = {"repeat": 1, "workers": 2, "line_budget": 0.01}
#: For tasks whose side effects the test reads: no profiling pass cuts an item (a cut lands
#: anywhere in the task, once between write_text's truncate and its write on a busy machine).
UNCUT = {**FAST, "line_budget": 30, "profile_budget": "all"}
SHIPS = ("processes", "pool", "dask")


def _calls(run: profkit.Run, mode: str, name: str) -> int:
    """cProfile's call count of the function ``name`` in ``mode`` (every item runs once)."""
    rows = run.functions[(run.functions["mode"] == mode) & (run.functions["name"] == name)]
    return int(rows["ncalls"].sum())


def _items_run(run: profkit.Run, mode: str) -> list[int]:
    return sorted(run.tasks[run.tasks["mode"] == mode]["item"])


# -- each kind of target a user passes --


@pytest.mark.timeout(120)
def test_decorated_function_is_profiled_as_its_workload():
    run = profkit.profile(counting.decorated, modes="sequential,processes", **FAST)
    assert run.meta.status == {"sequential": "ok", "processes": "ok"}
    assert run.meta.workload.name == "decorated"
    n = len(counting.decorated.__profkit_workload__.items)
    assert run.meta.workload.n_items == n == 3
    for mode in ("sequential", "processes"):
        assert _items_run(run, mode) == list(range(n))
        assert _calls(run, mode, "decorated") == n
        assert _calls(run, mode, "helper") == n * counting.HELPER_CALLS


@pytest.mark.timeout(120)
def test_plain_function_with_items_like_executor_map():
    items = [1, 2, 3, 4, 5]
    run = profkit.profile(counting.task, items=items, modes="sequential,threads", **FAST)
    assert run.meta.status == {"sequential": "ok", "threads": "ok"}
    assert run.meta.workload.name == "task"
    assert run.meta.workload.n_items == len(items)
    for mode in ("sequential", "threads"):
        assert _items_run(run, mode) == list(range(len(items)))
        assert _calls(run, mode, "task") == len(items)
        assert _calls(run, mode, "helper") == len(items) * counting.HELPER_CALLS
    # positional items too, as in executor.map(f, items)
    again = profkit.profile(counting.task, items, modes="sequential", **FAST)
    assert again.meta.workload.n_items == len(items)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("target", [counting.WORKLOAD, counting.decorated,
                                    "tests.fixtures.counting:decorated"],
                         ids=["Workload", "decorated", "target-string"])
def test_items_replace_the_workloads_own(target):
    run = profkit.profile(target, items=[9, 8], modes="sequential", **FAST)
    assert run.meta.workload.n_items == 2
    assert list(run.tasks.sort_values("item")["item_repr"]) == ["9", "8"]


@pytest.mark.timeout(120)
def test_lambda_workload_runs_in_sequential_and_processes():
    task = lambda x: x * 2  # noqa: E731 - as a user writes it
    run = profkit.profile(profkit.Workload("lam", task, [1, 2]), modes="sequential,processes",
                          **FAST)
    assert run.meta.status == {"sequential": "ok", "processes": "ok"}, run.meta.errors
    assert _items_run(run, "processes") == [0, 1]
    assert _calls(run, "processes", "<lambda>") == 2
    # The report's "pickled: task" is what the pool receives: the function by value, plus
    # a reference to the loader and the source file name (a few dozen bytes).
    by_value = len(cloudpickle.dumps(task))
    overhead = run.meta.modes["processes"].task_bytes - by_value
    file_name = len(task.__code__.co_filename) + len(task.__qualname__)
    assert file_name <= overhead <= file_name + 150, overhead
    with pytest.raises(Exception):  # noqa: B017 - plain pickle cannot name it: by value it went
        pickle.dumps(task)


# -- closures --


def _writing_closure(folder: Path, offset: int):
    """A closure over two locals that leaves one file per (process, item) with its result."""

    def add_offset(x: int) -> int:
        result = x + offset
        (folder / f"{os.getpid()}-{x}").write_text(str(result), encoding="utf-8")
        return result

    return add_offset


def _check_closure_ran_everywhere(run: profkit.Run, modes: list[str], folder: Path,
                                  items: list[int], offset: int) -> None:
    assert run.meta.status == {m: "ok" for m in modes}, run.meta.errors
    written = {path.name: path.read_text(encoding="utf-8") for path in folder.iterdir()}
    for mode in modes:
        assert _items_run(run, mode) == list(range(len(items)))
        assert _calls(run, mode, "add_offset") == len(items)
        pids = set(run.tasks[run.tasks["mode"] == mode]["pid"])
        if mode in SHIPS:
            assert os.getpid() not in pids, mode  # the workers ran it, with the captured locals
        else:
            assert pids == {os.getpid()}, mode
        rows = run.tasks[run.tasks["mode"] == mode]
        for pid, index in zip(rows["pid"], rows["item"], strict=True):
            x = items[index]
            assert written.get(f"{pid}-{x}") == str(x + offset), (mode, pid, x)


@pytest.mark.dask
@pytest.mark.timeout(240)
def test_closure_over_a_local_runs_in_every_mode(tmp_path):
    require("distributed")
    items, offset = [1, 2, 3, 4], 1000
    modes = ["sequential", "threads", "processes", "pool", "dask"]
    run = profkit.profile(_writing_closure(tmp_path, offset), items=items, modes=",".join(modes),
                          **UNCUT)
    _check_closure_ran_everywhere(run, modes, tmp_path, items, offset)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_closure_over_a_local_reaches_workers_that_do_not_fork(tmp_path, start_method):
    items, offset = [5, 6, 7], 77
    modes = ["sequential", "processes", "pool"]
    run = profkit.profile(_writing_closure(tmp_path, offset), items=items, modes=",".join(modes),
                          start_method=start_method, **UNCUT)
    assert run.meta.options["start_method"] == start_method
    _check_closure_ran_everywhere(run, modes, tmp_path, items, offset)


@pytest.mark.timeout(300)
def test_closure_speedup_matches_a_bare_pool_of_the_module_function():
    """Shipped by value, a closure over a local pays no more than the module-level function:
    its processes speedup is within 10% of a bare ProcessPoolExecutor(2).map of is_prime."""
    from concurrent.futures import ProcessPoolExecutor

    from profkit.workloads.primes import PRIMES, is_prime
    from tests.fixtures.bare import agrees, agrees_in_one_of, paired_ratios

    check = is_prime  # the local the closure captures

    def primality(n: int) -> bool:
        return check(n)

    def bare() -> list[float]:  # every round's ratio: their spread is how much the machine moved
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
            return paired_ratios(lambda: [is_prime(n) for n in PRIMES],
                                 lambda: list(pool.map(is_prime, PRIMES)), rounds=3)

    def attempt(_: int) -> tuple[bool, object]:
        before = bare()
        run = profkit.profile(primality, items=PRIMES, modes="sequential,processes", workers=2,
                              line_budget=0.05, max_time=15)
        after = bare()
        assert run.meta.status == {"sequential": "ok", "processes": "ok"}, run.meta.errors
        speedup = run.analysis.modes["processes"].speedup
        return agrees(speedup, before + after, 0.10), (speedup, before, after)

    agrees_in_one_of(attempt)


@pytest.mark.dask
@pytest.mark.timeout(240)
def test_closure_nothing_can_ship_fails_only_the_modes_that_ship_pickles():
    require("distributed")
    lock = threading.Lock()

    def locked(x: int) -> int:
        with lock:
            return sum(range(x * 1000))

    modes = "sequential,threads,processes,pool,dask"
    run = profkit.profile(locked, items=[1, 2, 3], modes=modes, **FAST)
    assert run.meta.status == {"sequential": "ok", "threads": "ok", "processes": "failed",
                                  "pool": "failed", "dask": "failed"}
    assert sorted(run.failed_modes) == sorted(SHIPS)
    for mode in ("sequential", "threads"):  # the others keep their results
        assert _items_run(run, mode) == [0, 1, 2]
        assert _calls(run, mode, "locked") == 3
        assert len(run.timings[(run.timings["mode"] == mode) & (run.timings["phase"] == "map")]) == 1
    for mode in SHIPS:
        error = run.meta.errors[mode]
        assert "\n" not in error and error.startswith(f"{mode}:"), error
        assert "locked" in error and "_thread.lock" in error
        assert "module level" in error and "sequential and threads" in error


# -- mistakes: a ProfkitError with one line that names the fix --


def test_bad_option_name_suggests_modes():
    with pytest.raises(profkit.ProfkitError, match="did you mean modes") as caught:
        profkit.profile(counting.task, items=[1], mode="x")
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2
    assert "'mode'" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(UsageError, match="did you mean max_time"):
        profkit.profile(counting.task, items=[1], max_tme=3)
    with pytest.raises(UsageError, match="did you mean repeat"):
        profkit.ab(counting.task, counting.task, items=[1], repat=2)


def test_plain_function_without_items_names_the_fix():
    with pytest.raises(WorkloadError, match=r"items=\[\.\.\.\].*@profkit.workload"):
        profkit.profile(counting.task)


@pytest.mark.parametrize("call", [
    lambda: profkit.profile(),
    lambda: profkit.profile(counting.task, [1], "sequential"),
    lambda: profkit.profile(42),
    lambda: profkit.profile(None, items=[1]),
    lambda: profkit.profile("no_such_package_xyz:task"),
    lambda: profkit.profile(counting.task, items=5),
    lambda: profkit.profile(counting.task, items=[]),
    lambda: profkit.profile(counting.task, items="abc"),
    lambda: profkit.profile(counting.task, items=[1], modes=5),
    lambda: profkit.profile(counting.task, items=[1], modes=["sequential", 3]),
    lambda: profkit.profile(counting.task, items=[1], workers="many"),
    lambda: profkit.profile(counting.task, items=[1], repeat=0),
    lambda: profkit.profile(counting.task, items=[1], precision=2),
    lambda: profkit.profile(counting.task, items=[1], max_rounds="x"),
    lambda: profkit.profile(counting.task, items=[1], max_time=-1),
    lambda: profkit.profile(counting.task, items=[1], chunksize="big"),
    lambda: profkit.profile(counting.task, items=[1], lines=5),
    lambda: profkit.profile(counting.task, items=[1], start_method="thread"),
    lambda: profkit.profile(counting.task, items=[1], timeout="soon"),
    lambda: profkit.profile(counting.task, items=[1], line_budget=0),
    lambda: profkit.profile(counting.task, items=[1], memory_lines=[1]),
    lambda: profkit.profile(counting.task, items=[1], memory_line_budget="x"),
    lambda: profkit.profile(counting.task, items=[1], gc="maybe"),
    lambda: profkit.profile(counting.task, items=[1], sweep="yes"),
    lambda: profkit.profile(counting.task, items=[1], progress=5),
    lambda: profkit.profile(counting.task, items=[1], target=5),
    lambda: profkit.profile(counting.task, items=[1], seed=[1]),
    lambda: profkit.profile(counting.task, items=[1], out=123),
    lambda: profkit.load(None),
    lambda: profkit.load(123),
    lambda: profkit.workload(counting.task),  # a bare @profkit.workload, without the items
    lambda: profkit.workload(items=[1])(42),
    lambda: profkit.Workload("w", 42, [1]),
    lambda: profkit.Workload("", counting.task, [1]),
])
def test_every_mistake_is_a_profkit_error_in_one_line(call):
    with pytest.raises(profkit.ProfkitError) as caught:
        call()
    message = str(caught.value)
    assert message and "\n" not in message


@pytest.mark.timeout(120)
def test_run_save_and_to_html_refuse_a_path_that_is_not_one():
    run = profkit.profile(counting.task, items=[1], modes="sequential", **FAST)
    for method in (run.save, run.to_html):
        with pytest.raises(UsageError, match="must be a path"):
            method(123)  # type: ignore[arg-type]


def test_help_documents_every_option_with_its_type():
    from profkit.options import GIVEN

    signature = inspect.signature(profkit.profile)
    own = [n for n, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY]
    assert list(signature.parameters)[:2] == ["workload", "items"]
    text = pydoc.render_doc(profkit.profile, renderer=pydoc.plaintext)
    for name in [*own, *GIVEN]:
        assert f"``{name}``" in (profkit.profile.__doc__ or ""), name
    for name in own:
        assert f"{name}: " in text, name  # the typed signature, not (*args, **kwargs)


def test_options_are_named_like_the_cli_flags():
    from profkit.cli.profile import add_arguments
    from profkit.options import GIVEN

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {a.dest for a in parser._actions if a.option_strings} - {"help", "quiet", "json", "open"}
    options = {n for n, p in inspect.signature(profkit.profile).parameters.items()
               if p.kind is p.KEYWORD_ONLY} | set(GIVEN)
    assert flags and flags <= options, flags - options


@pytest.mark.timeout(120)
def test_a_progress_function_that_raises_is_one_warning_and_the_run_goes_on():
    """A bug in the user's progress bar fails no mode: its first exception is one ProfkitWarning
    naming it, it gets no more lines, and every mode is measured as without it."""
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if len(lines) == 3:
            raise RuntimeError("the progress bar broke")

    with pytest.warns(ProfkitWarning) as caught:
        run = profkit.profile(counting.task, items=[1, 2, 3], modes="sequential,threads",
                              progress=progress, **FAST)
    assert run.meta.status == {"sequential": "ok", "threads": "ok"}, run.meta.errors
    assert len(lines) == 3
    said = [str(w.message) for w in caught if issubclass(w.category, ProfkitWarning)]
    assert said == ["the progress function raised RuntimeError: the progress bar broke; it gets "
                    "no more lines in this run, which goes on"]
    assert _items_run(run, "threads") == [0, 1, 2]
