"""``profkit run``: real programs, run unmodified, against the same programs run bare.

Each test runs the program with plain ``python`` and with ``python -m profkit run``,
in its own folder, and checks stdout, the exit code, the site's file:line (found in
the program's text), the merged worker profile and the bound against the test's own
timing of the task.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import multiprocessing
import os
import pstats
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.bare import thread_timed
from tests.fixtures.cli import (
    FIXTURES,
    cli_env,
    ended,
    new_marker,
    one_line_error,
    processes_with_marker,
    run_cli,
    run_main,
)

PROGRAMS = FIXTURES / "programs"


def bare(program: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(program), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=cli_env())


def line_of(program: Path, text: str) -> int:
    """The line of ``program`` that holds ``text``: where the site must be found."""
    lines = program.read_text(encoding="utf-8").splitlines()
    (number,) = [k + 1 for k, line in enumerate(lines) if text in line]
    return number


def profiled(program: Path, *args: str, tmp_path: Path, extra: tuple[str, ...] = ()
             ) -> tuple[subprocess.CompletedProcess[str], Path, dict]:
    out = tmp_path / "run"
    done = run_cli("run", "--quiet", "--out", out, *extra, program, *args, cwd=tmp_path)
    data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return done, out, data


#: From Python 3.12 cProfile is one profiler per interpreter: a thread pool's tasks are in the
#: program's own profile ("main"), which records every thread with one call stack.
ONE_PROFILER = sys.version_info >= (3, 12)


def calls(out: Path, site: str, function: str, file: str = "") -> int:
    """cProfile's call count of ``function`` (defined in a file whose name ends with ``file``)
    in the run's profile ``site``."""
    stats = pstats.Stats(str(out / "profiles" / f"{site}.prof")).stats  # type: ignore[attr-defined]
    return sum(v[1] for (f, _l, name), v in stats.items() if name == function and f.endswith(file))


def bare_bound(durations: list[float], workers: int) -> float:
    """Total over the best makespan of every assignment of the items to the workers."""
    best = min(max(sum(d for d, w in zip(durations, pick, strict=True) if w == k)
                   for k in range(workers))
               for pick in itertools.product(range(workers), repeat=len(durations)))
    return sum(durations) / best


def test_seed_primes(tmp_path: Path) -> None:
    program = PROGRAMS / "primes.py"
    plain = bare(program, cwd=tmp_path)
    done, out, data = profiled(program, tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout
    (site,) = data["sites"]
    assert (Path(site["filename"]).name, site["lineno"]) == (
        "primes.py", line_of(program, "executor.map(is_prime, PRIMES)"))
    assert site["method"] == "ProcessPoolExecutor.map" and site["task"] == "is_prime"
    assert calls(out, site["id"], "is_prime") == 6
    assert calls(out, "all", "is_prime") == 6

    # the bound against the test's own timing of each item: each map of all six is one sample,
    # alone and two at a time in a bare pool of 2 workers as in the program (two busy cores can
    # slow each other). A default run times its tasks under cProfile, which slows this loop
    # about 1.5x and spreads the items' times (a wider spread lets a schedule balance better):
    # the bound from bare times is checked on a --timeline-only run of the same program.
    sys.path.insert(0, str(PROGRAMS))
    try:
        import primes  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(PROGRAMS))
    samples = [[thread_timed(primes.is_prime, n) for n in primes.PRIMES] for _ in range(2)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        timed = functools.partial(thread_timed, primes.is_prime)
        samples += [list(pool.map(timed, primes.PRIMES)) for _ in range(3)]
    truths = sorted(bare_bound(sample, 2) for sample in samples)
    (tmp_path / "timeline").mkdir()
    bare_times, bare_out, bare_data = profiled(program, tmp_path=tmp_path / "timeline",
                                        extra=("--timeline-only",))
    assert bare_times.returncode == 0 and bare_times.stdout == plain.stdout, bare_times.stderr
    timeline = bare_data["analysis"]["program"]["sites"][0]
    assert timeline["workers"] == 2 and timeline["tasks"] == 6
    assert truths[0] / 1.05 <= timeline["bound"] <= truths[-1] * 1.05, (timeline["bound"], truths)
    facts = data["analysis"]["program"]["sites"][0]
    assert facts["workers"] == 2 and facts["tasks"] == 6
    assert 1.0 < facts["bound"] <= 2.0  # two workers, one item far bigger than the rest
    # profile's rules on the same tasks: CPU-bound work on processes that pays, nothing to batch
    assert facts["work"] == "cpu-bound" and facts["cpu_ratio"] > 0.8
    assert not {"use-threads", "batch", "keep-loop", "use-processes"} & set(facts["advice"])
    # the achieved estimate: a sequential run of the tasks over the site's wall, from the frames
    import profkit

    run = profkit.load(out)
    tasks = run.tasks[run.tasks["mode"] == site["id"]]
    # (their times less their waits for a core, stretched when the program had under a core)
    assert facts["task_sum_s"] + facts["queued_s"] == pytest.approx(tasks["duration_s"].sum())
    assert facts["achieved_estimate"] == pytest.approx(
        facts["task_sum_s"] / min(1.0, facts["cores"]) / (site["last_s"] - site["first_s"]))
    assert tasks["start_s"].min() >= site["first_s"] and tasks["end_s"].max() <= site["last_s"]
    assert len(set(tasks["pid"])) == 2
    html = (out / "index.html").read_text(encoding="utf-8")
    if ONE_PROFILER:  # the main thread's lock waits are mixed with the pool's threads' calls
        assert facts["wait_s"] <= facts["wall_s"] and "records every thread" in html
    else:  # the program's wait for the site, against the main thread's cProfile of its locks
        main = pstats.Stats(str(out / "profiles" / "main.prof")).stats  # type: ignore[attr-defined]
        locks = sum(v[2] for (_f, _l, name), v in main.items() if "acquire" in name)
        assert facts["wait_s"] == pytest.approx(locks, abs=0.1 * facts["wall_s"])
        assert "records every thread" not in html
    assert f"primes.py:{site['lineno']}" in html and "speedup achieved (estimate)" in html
    # the run is dated, as a profile is: compare and the report say when it ran
    from datetime import datetime, timedelta, timezone

    started, finished = (datetime.fromisoformat(data[k]) for k in ("started_at", "finished_at"))
    assert started <= finished <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert datetime.now(timezone.utc) - started < timedelta(minutes=10)
    assert f"started {data['started_at']}" in html
    # the report says which times a profiler slowed
    assert "timed under cProfile" in html
    assert "timed under cProfile" not in (bare_out / "index.html").read_text(encoding="utf-8")
    assert f"site1 primes.py:{site['lineno']} ProcessPoolExecutor.map(is_prime)" not in done.stdout

    # the other commands open the folder: report re-renders the same facts, lines says why not
    (out / "index.html").unlink()
    again = run_main("report", out, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"primes.py:{site['lineno']}" in (out / "index.html").read_text(encoding="utf-8")
    lines = run_main("lines", out, cwd=tmp_path)
    assert lines.returncode == 2 and "no line profile" in lines.stderr
    assert "profkit run --lines" in lines.stderr  # the fix, named
    assert "Traceback" not in lines.stderr
    # a site record profkit did not write: report refuses it in one line
    import shutil

    planted = shutil.copytree(out, tmp_path / "planted")
    record = json.loads((planted / "run.json").read_text(encoding="utf-8"))
    record["sites"][0]["first_s"] = "x"
    (planted / "run.json").write_text(json.dumps(record), encoding="utf-8")
    refused = run_main("report", planted, cwd=tmp_path)
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    assert "pool site's record cannot be read" in refused.stderr


def test_site_wall_against_the_programs_own_clock(tmp_path: Path) -> None:
    """The lesson's timed program prints its parallel section's wall: the site's is the same."""
    program = PROGRAMS / "primes_timed.py"
    plain = bare(program, cwd=tmp_path)
    done, out, data = profiled(program, tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert _no_pids(done.stdout) == _no_pids(plain.stdout)  # the same lines, times aside
    (printed,) = [float(line.split()[3]) for line in done.stdout.splitlines()
                  if line.startswith("병렬처리 수행 시각")]
    (site,) = data["analysis"]["program"]["sites"]
    assert site["lineno"] == line_of(program, "executor.map(is_prime, PRIMES)")
    # the program's clock also counts the pool's creation and shutdown: a few ms
    assert site["wall_s"] == pytest.approx(printed, rel=0.05, abs=0.05)
    assert site["wall_s"] <= printed


def test_timeline_only_runs_no_profiler(tmp_path: Path) -> None:
    program = PROGRAMS / "double.py"
    done, out, data = profiled(program, tmp_path=tmp_path, extra=("--timeline-only",))
    assert done.returncode == 0, done.stderr
    assert data["program"]["profile"] is False
    assert data["artifacts"]["profiles"] == {} and not (out / "profiles").exists()
    (site,) = data["analysis"]["program"]["sites"]
    assert site["tasks"] == 5 and site["lineno"] == line_of(program, "pool.map(double")
    both = run_cli("run", "--timeline-only", "--lines", program, cwd=tmp_path)
    assert both.returncode == 2 and "exclude each other" in both.stderr


def test_view_serves_a_site_profile(tmp_path: Path, viewers) -> None:
    """``profkit view RUN --mode site1`` serves the site's merged workers' profile."""
    import urllib.request

    program = PROGRAMS / "double.py"
    done, out, _data = profiled(program, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    viewer = viewers(out, "--mode", "site1", "--no-browser", cwd=tmp_path)
    line = viewer.wait_for("snakeviz is serving")
    assert "site1.prof" in line
    with urllib.request.urlopen(line.split(" at ", 1)[1].strip(), timeout=10) as response:
        body = response.read().decode("utf-8", "replace")
    assert "double" in body


def _no_pids(text: str) -> str:
    return re.sub(r"\d+", "N", text)


def test_seed_double(tmp_path: Path) -> None:
    program = PROGRAMS / "double.py"
    plain = bare(program, cwd=tmp_path)
    done, out, data = profiled(program, tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    # two workers print their pids at once, so their lines may interleave, bare as here
    for stdout in (done.stdout, plain.stdout):
        assert stdout.count("I'm processing ") == 5
        assert stdout.endswith("[2, 4, 6, 8, 10]\n")
    # a pid written between another worker's pid and its newline runs digits together: compare
    # what the program printed, character by character, digits and spaces aside
    assert sorted(re.sub(r"[\d\s]", "", done.stdout)) == sorted(re.sub(r"[\d\s]", "", plain.stdout))
    (site,) = data["sites"]
    assert site["lineno"] == line_of(program, "pool.map(double")
    assert calls(out, site["id"], "double") == 5


def test_seed_delivery_threads(tmp_path: Path) -> None:
    program = PROGRAMS / "delivery.py"
    plain = bare(program, cwd=tmp_path)
    done, out, data = profiled(program, tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout == "delivering\n"
    (site,) = data["sites"]
    assert site["lineno"] == line_of(program, "executor.submit(w.run)")
    assert site["method"] == "ThreadPoolExecutor.submit" and not site["processes"]
    assert calls(out, "main" if ONE_PROFILER else site["id"], "run", "delivery.py") == 1
    assert site["in_program_profile"] is ONE_PROFILER


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_start_methods(tmp_path: Path, method: str) -> None:
    program = PROGRAMS / "methods.py"
    plain = bare(program, method, cwd=tmp_path)
    done, out, data = profiled(program, method, tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout
    sites = {s["method"]: s for s in data["sites"]}
    facts = {s["id"]: s for s in data["analysis"]["program"]["sites"]}
    expected = {"Pool.imap_unordered": ("imap_unordered(square", 20, "square"),
                "Pool.starmap": ("starmap(add", 3, "add"),
                "Pool.apply_async": ("apply_async(square", 1, "square"),
                "ProcessPoolExecutor.submit": ("executor.submit(square", 4, "square")}
    assert set(sites) == set(expected)
    for method_name, (text, n, task) in expected.items():
        site = sites[method_name]
        assert site["lineno"] == line_of(program, text)
        assert site["start_method"] == method
        assert facts[site["id"]]["tasks"] == n
        assert calls(out, site["id"], task) == n
    assert sites["Pool.imap_unordered"]["chunksize"] == 4


@pytest.mark.matrix
def test_thread_pools(tmp_path: Path) -> None:
    """Thread pools are sites too: sleeping tasks overlap; GIL-bound ones are told to use
    processes. From Python 3.12 their tasks are profiled in the program's own profile, and
    the report says so where a site's profile would be."""
    program = PROGRAMS / "threads.py"
    plain = bare(program, cwd=tmp_path)
    done, out, data = profiled(program, tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout
    facts = {s["method"]: s for s in data["analysis"]["program"]["sites"]}
    naps, spins = facts["ThreadPoolExecutor.map"], facts["ThreadPool.imap"]
    assert naps["lineno"] == line_of(program, "executor.map(nap")
    assert spins["lineno"] == line_of(program, "pool.imap(spin")
    assert not naps["processes"] and not spins["processes"]
    assert (naps["tasks"], naps["workers"], spins["tasks"], spins["workers"]) == (8, 4, 4, 2)
    # eight naps of 50 ms on four threads: two rounds; sleeping needs no core
    assert naps["wall_s"] >= 0.1 and naps["task_sum_s"] >= 0.4
    assert naps["sized"] == 0  # threads pickle nothing
    assert spins["work"] == "cpu-bound"
    # four equal spins: smaller items are advised only if one measured far longer than the
    # rest (a host burst can slow one 30 ms task by 1.75x), as the tasks frame shows
    tasks = pd.read_parquet(out / "frames" / "tasks.parquet")
    spin_cpu = tasks.loc[tasks["mode"] == spins["id"], "cpu_s"]
    uneven = float(spin_cpu.max()) > 1.4 * float(spin_cpu.median())
    assert spins["advice"] in (
        [["use-processes"], ["split-items", "use-processes"]] if uneven else [["use-processes"]])
    assert naps["advice"] == [] and naps["work"] == "io-bound"
    # two GIL-bound threads take turns, so the pool gains nothing: the estimate leaves out each
    # thread's wait for the GIL, which alone made it about 2x
    assert spins["gil_waits_left_out"] and spins["achieved_estimate"] < 1.5
    html = (out / "index.html").read_text(encoding="utf-8")
    if ONE_PROFILER:
        assert calls(out, "main", "spin") == 4 and calls(out, "main", "nap") == 8
        assert not (out / "profiles" / f"{spins['id']}.prof").exists()
        assert naps["in_program_profile"] and spins["in_program_profile"]
        assert html.count("No profile of its own: from Python 3.12") == 2
        assert "records every thread" in html
    else:
        assert calls(out, spins["id"], "spin") == 4 and calls(out, naps["id"], "nap") == 8
        assert not naps["in_program_profile"] and "No profile of its own" not in html


def test_no_pool(tmp_path: Path) -> None:
    """A program without a pool: a plain profile; its argv, __name__, __file__ and sys.path[0]
    as Python gives them."""
    program = PROGRAMS / "nopool.py"
    plain = bare(program, "a", "b", cwd=tmp_path)
    done, out, data = profiled(program, "a", "b", tmp_path=tmp_path)
    assert done.stdout == plain.stdout and done.returncode == 0
    assert data["sites"] == []
    assert calls(out, "main", "work") == 1
    assert "No pool was seen" in (out / "index.html").read_text(encoding="utf-8")


def test_a_double_dash_before_the_script_ends_profkits_options(tmp_path: Path) -> None:
    """``profkit run --out run -- script.py -- x``: the first ``--`` ends profkit's options, as
    argparse users expect; what follows the script (or the module) is the program's, a ``--``
    included."""
    program = PROGRAMS / "nopool.py"
    plain = bare(program, "--", "x", cwd=tmp_path)
    done = run_cli("run", "--quiet", "--out", "run", "--", program, "--", "x", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == plain.stdout and "'--', 'x'" in plain.stdout
    import shutil

    shutil.copy(program, tmp_path / "nopool.py")
    plain = subprocess.run([sys.executable, "-m", "nopool", "--", "x"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120, env=cli_env())
    module = run_cli("run", "--quiet", "--out", "run2", "-m", "nopool", "--", "x", cwd=tmp_path)
    assert module.returncode == 0, module.stderr
    assert module.stdout == plain.stdout and "'--', 'x'" in plain.stdout


def test_module_mode(tmp_path: Path) -> None:
    """``profkit run -m module`` as ``python -m module``: same argv, __file__ and sys.path[0]."""
    import shutil

    shutil.copy(PROGRAMS / "nopool.py", tmp_path / "nopool.py")
    plain = subprocess.run([sys.executable, "-m", "nopool", "x"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, env=cli_env())
    out = tmp_path / "run"
    done = run_cli("run", "--quiet", "--out", out, "-m", "nopool", "x", cwd=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout
    assert (out / "profiles" / "main.prof").is_file()


@pytest.mark.parametrize("how", ["raise", "exit3", "kill"])
def test_failing_programs(tmp_path: Path, how: str) -> None:
    program = PROGRAMS / "fails.py"
    plain = bare(program, how, cwd=tmp_path)
    marker = new_marker()
    out = tmp_path / "run"
    done = run_cli("run", "--quiet", "--out", out, program, how, cwd=tmp_path,
                   env=cli_env(PROFKIT_TEST_MARKER=marker))
    data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert processes_with_marker(marker) == []  # no worker outlives the run
    assert done.returncode == plain.returncode
    assert done.returncode == {"raise": 1, "exit3": 3, "kill": 1}[how]
    assert _no_pids(done.stdout) == _no_pids(plain.stdout)  # the pids differ
    if how == "raise":
        assert "ValueError: the program's own error" in done.stderr
        assert f'File "{program}", line {line_of(program, "raise ValueError")}' in done.stderr
        assert "runpy" not in done.stderr and "launcher.py" not in done.stderr
        assert done.stderr == plain.stderr  # the program's own traceback, as Python prints it
    if how == "kill":
        assert "BrokenProcessPool" in done.stderr and "BrokenProcessPool" in plain.stderr
    # what was measured before the end is kept
    first = data["analysis"]["program"]["sites"][0]
    assert first["tasks"] == 4 and data["program"]["exit_code"] == done.returncode


@pytest.mark.parametrize("kind", ["threads", "processes", "pool", "submit"])
def test_a_task_that_raises_keeps_its_own_traceback(tmp_path: Path, kind: str) -> None:
    """A task raises in a pool: the program catches it once and prints its traceback, then lets
    it end the program. Both tracebacks, the worker's part included (a process pool's comes as
    text), are the ones python prints: no frame of profkit's."""
    program = PROGRAMS / "taskraise.py"
    plain = bare(program, kind, cwd=tmp_path)
    done, _out, data = profiled(program, kind, tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 1
    assert done.stdout == plain.stdout
    assert plain.stderr.count("Traceback (most recent call last)") >= 2
    assert done.stderr == plain.stderr
    assert data["analysis"]["program"]["sites"][0]["failed"] >= 1


def test_a_result_that_does_not_pickle_is_named_as_under_python(tmp_path: Path) -> None:
    """A Pool's error for a result that does not pickle shows the program's result, as under
    python, not profkit's outcome around it; the tasks that ran are counted, failed."""
    program = PROGRAMS / "unpicklable.py"
    plain = bare(program, cwd=tmp_path)
    done, _out, data = profiled(program, tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout
    assert plain.stdout.startswith("MaybeEncodingError Error sending result: '[[0, <unlocked")
    (site,) = data["analysis"]["program"]["sites"]
    assert (site["tasks"], site["failed"]) == (4, 1)


def _stopped_mid_pool(tmp_path: Path, sig: signal.Signals) -> tuple[int, str, dict]:
    """``fails.py interrupt`` under profkit run, sent ``sig`` once its pool is under way: the
    exit code, stderr and run.json; no process of the run is left (checked here)."""
    program = PROGRAMS / "fails.py"
    marker = new_marker()
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "profkit", "run", "--quiet", "--out",
                                str(out), str(program), "interrupt"], cwd=tmp_path,
                               env=cli_env(PROFKIT_TEST_MARKER=marker),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with ended(process):
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("waiting"):
                break
        time.sleep(0.3)  # the pool is under way
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
    data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    deadline = time.monotonic() + 10
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with_marker(marker) == []
    return process.returncode, stderr, data


def test_ctrl_c_keeps_the_run_and_leaves_no_orphans(tmp_path: Path) -> None:
    code, stderr, data = _stopped_mid_pool(tmp_path, signal.SIGINT)
    assert code == 130, stderr
    assert "KeyboardInterrupt" in stderr
    assert data["interrupted"] is True and data["program"]["exit_code"] == 130
    assert data["analysis"]["program"]["sites"][0]["tasks"] == 4


def test_sigterm_ends_the_program_without_a_ctrl_c_traceback(tmp_path: Path) -> None:
    """SIGTERM ends a python program silently (143): profkit saves the run and prints no
    KeyboardInterrupt traceback, which would say the user pressed Ctrl-C."""
    code, stderr, data = _stopped_mid_pool(tmp_path, signal.SIGTERM)
    assert code == 143, stderr
    assert "KeyboardInterrupt" not in stderr and "Traceback" not in stderr, stderr
    assert data["interrupted"] is True and data["program"]["exit_code"] == 143


def _sequential_s(module: str, task: str, items: list[object]) -> float:
    """The map of ``task`` over ``items`` of a program in PROGRAMS, timed bare here, in sequence."""
    import importlib

    sys.path.insert(0, str(PROGRAMS))
    try:
        fn = getattr(importlib.import_module(module), task)
    finally:
        sys.path.remove(str(PROGRAMS))
    start = time.perf_counter()
    for item in items:
        fn(item)
    return time.perf_counter() - start


def test_the_estimate_on_a_busy_machine_against_a_bare_sequential_run(tmp_path: Path) -> None:
    """Two other programs spin on the two cores (in a session of their own, as another
    terminal's would): the site's estimate is the same tasks run in sequence, timed here under
    the same load, over the site's wall. What a lone task would have had of a core depends on
    how the kernel shares the cores among programs, by session or thread by thread; the
    terminal line and the report say the range between the two and that the machine was busy,
    and the bare run must fall in it (20% allowed either side). Its tasks' waits for a core
    they would not have had one at a time are not counted (counting them gave 1.84x against
    0.95x bare). Linux shares the cores among sessions, but how much the spinners leave the
    program's session moves from run to run (its two workers had 0.6 to 1.0 cores between
    them, measured): one run of two may miss by chance; a bias misses in both."""
    from tests.fixtures.bare import agrees_in_one_of

    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                 start_new_session=True) for _ in range(2)]

    def attempt(k: int) -> tuple[bool, object]:
        items = [1_000_000] * 8
        # the load from other programs comes and goes: the truth is the range of these runs
        before = [_sequential_s("spin", "spin", items) for _ in range(2)]
        out = tmp_path / f"run{k}"
        done = run_cli("run", "--timeline-only", "--out", out, PROGRAMS / "spin.py", cwd=tmp_path)
        after = [_sequential_s("spin", "spin", items) for _ in range(2)]
        assert done.returncode == 0, done.stderr
        data = json.loads((out / "run.json").read_text(encoding="utf-8"))
        (site,) = data["analysis"]["program"]["sites"]
        assert site["tasks"] == 8 and site["workers"] == 2
        (line,) = [x for x in done.stderr.splitlines() if x.startswith("profkit: site1 ")]
        assert site["machine_busy"]  # two spinners on two cores: the tasks waited for one
        report = (out / "index.html").read_text(encoding="utf-8")
        assert "rough: the machine was busy" in line and "Rough: the machine was busy" in report
        low_end = site["achieved_estimate"]
        high_end = site["achieved_high"] if site["achieved_high"] is not None else low_end
        if site["achieved_high"] is not None:  # the words say the numbers of the record
            span = f"between {low_end:.2f}× (the kernel sharing the cores by session) and "
            assert span + f"{high_end:.2f}× (thread by thread)" in line
            assert span in report
        low, high = min(before + after) / site["wall_s"], max(before + after) / site["wall_s"]
        facts = {k: site.get(k) for k in ("achieved_estimate", "achieved_high", "sequential_s",
                                          "cores", "wall_s", "task_sum_s", "queued_s")}
        return low_end / 1.2 <= high and low <= high_end * 1.2, (facts, before, after)

    with contextlib.ExitStack() as stack:
        for spinner in spinners:
            stack.enter_context(ended(spinner))
        time.sleep(0.3)
        agrees_in_one_of(attempt)


def test_usage_errors(tmp_path: Path) -> None:
    missing = run_cli("run", tmp_path / "nothere.py", cwd=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    nothing = run_cli("run", cwd=tmp_path)
    assert nothing.returncode == 2 and "give the script" in nothing.stderr
    (tmp_path / "folder").mkdir()
    folder = run_cli("run", "folder", cwd=tmp_path)
    assert folder.returncode == 2 and "a folder without a __main__.py" in folder.stderr
    assert len(folder.stderr.splitlines()) == 1
    # a folder of the user's own is never written into
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("saved", encoding="utf-8")
    taken = run_cli("run", "--out", "mine", PROGRAMS / "nopool.py", cwd=tmp_path)
    assert taken.returncode == 2 and "already exists" in taken.stderr
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "saved"
    # a folder under a file: named as such, not as the OS's "File exists"
    under_file = run_main("run", "--out", "mine/notes.txt/x", PROGRAMS / "nopool.py",
                          cwd=tmp_path)
    one_line_error(under_file, "notes.txt is a file, not a folder")
    assert "File exists" not in under_file.stderr
    # an empty --out is refused, not taken for no --out (a timestamped folder)
    for command in (("run", "--out", "", PROGRAMS / "nopool.py"), ("profile", "primes", "--out", "")):
        empty = run_main(*command, cwd=tmp_path)
        assert empty.returncode == 2 and len(empty.stderr.splitlines()) == 1, empty.stderr
        assert "argument --out: an empty folder name" in empty.stderr
        assert "leave --out off" in empty.stderr and "Traceback" not in empty.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "mine"]


def test_a_forked_child_leaves_as_under_python(tmp_path: Path) -> None:
    """A child the program forks and lets return exits there with its code; the run is saved
    once, by profkit's own process."""
    program = PROGRAMS / "careless.py"
    plain = bare(program, "fork", cwd=tmp_path)
    done, out, data = profiled(program, "fork", tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout == "child\nparent\n"
    assert done.stderr == "" and data["program"]["exit_code"] == 0


def test_a_child_left_running_outlives_profkit(tmp_path: Path) -> None:
    """As under python, a process the program starts and leaves running is not ended."""
    program = PROGRAMS / "careless.py"
    flag = tmp_path / "flag"
    done, _out, _data = profiled(program, "outlive", str(flag), tmp_path=tmp_path)
    pid = int(done.stdout.split()[1])
    try:
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 20
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flag.read_text(encoding="utf-8") == "done"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_the_report_path_is_shown_from_where_profkit_started(tmp_path: Path) -> None:
    """The program changes its working folder: the report's path is still shown from the folder
    the user ran profkit in, so it opens from there."""
    program = PROGRAMS / "careless.py"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_cli("run", "--out", "run", program, "chdir", str(elsewhere), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("profkit: report: ")]
    shown = line.removeprefix("profkit: report: ")
    assert shown == "run/index.html" and (tmp_path / shown).is_file()
    assert list(elsewhere.iterdir()) == []


def _until_the_reader_leaves(command: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``command``, read its first line of stdout, close the pipe: its exit code, that
    line and its stderr."""
    process = subprocess.Popen(command, cwd=cwd, env=cli_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        code = process.wait(timeout=60)
        return code, first, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_pipe_closed_early_ends_the_program_as_under_python(tmp_path: Path) -> None:
    """The program writes to the real stdout: when its reader leaves (``| head -1``) its next
    write raises BrokenPipeError, as under python, instead of being dropped for ever."""
    program = PROGRAMS / "careless.py"
    plain = _until_the_reader_leaves([sys.executable, str(program), "pipe"], tmp_path)
    done = _until_the_reader_leaves([sys.executable, "-m", "profkit", "run", "--quiet", "--out",
                                     "run", str(program), "pipe"], tmp_path)
    assert plain[:2] == done[:2] == (1, "[0, 1, 4, 9] TextIOWrapper True\n"), done
    assert done[2].splitlines()[-1] == "BrokenPipeError: [Errno 32] Broken pipe", done[2]
    assert (tmp_path / "run" / "index.html").is_file()


def test_a_folder_program_has_its_own_folder_first_on_sys_path(tmp_path: Path) -> None:
    """``python folder`` puts the folder itself first on sys.path, not the folder above it:
    the program imports what it would under python, no more."""
    program = PROGRAMS / "folderapp"
    plain = bare(program, cwd=tmp_path)
    done, _out, data = profiled(program, tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout == "True False\n[0, 1, 4, 9]\n"
    (site,) = data["analysis"]["program"]["sites"]
    assert site["tasks"] == 4


def test_tasks_whose_results_the_program_never_reads_are_counted(tmp_path: Path) -> None:
    """A map used for its side effects (its results never read), a loop that breaks early, an
    imap left unread: every task that ran is counted, as the tasks themselves count them."""
    program = PROGRAMS / "unread.py"
    counts = tmp_path / "counts"
    counts.mkdir()
    done, _out, data = profiled(program, str(counts), tmp_path=tmp_path)
    assert done.returncode == 0 and done.stdout == "done\n", done.stderr
    ran = {p.name: len(p.read_text(encoding="utf-8")) for p in counts.iterdir()}
    told = {site["method"].split(".")[-1] if site["method"].startswith("Pool.") else
            ("threads" if site["method"].startswith("Thread") else
             "break" if site["lineno"] == line_of(program, 'items("break")') else "processes"):
            site["tasks"] for site in data["analysis"]["program"]["sites"]}
    assert ran["processes"] == ran["threads"] == ran["imap_unordered"] == 6, ran
    assert told == ran


def test_a_map_over_an_endless_iterable_reads_what_python_reads(tmp_path: Path) -> None:
    """``executor.map(fetch, itertools.repeat(session), urls)``: the items end with the shortest
    iterable, as Executor.map reads them; the endless one is not read to its end."""
    program = PROGRAMS / "careless.py"
    plain = bare(program, "repeat", cwd=tmp_path)
    done, _out, data = profiled(program, "repeat", tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout
    (site,) = data["analysis"]["program"]["sites"]
    assert site["tasks"] == 3


def test_a_map_whose_items_raise_runs_the_items_before(tmp_path: Path) -> None:
    """A generator of items raises after two: Executor.map submitted those two before the error
    reached the program, and they ran, as under python."""
    program = PROGRAMS / "careless.py"
    plain = bare(program, "badgen", cwd=tmp_path)
    done, _out, data = profiled(program, "badgen", tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 0, done.stderr
    assert done.stdout == plain.stdout == "bad item\n[1, 2]\n"
    (site,) = data["analysis"]["program"]["sites"]
    assert site["tasks"] == 2


def test_os_exit_keeps_what_was_measured(tmp_path: Path) -> None:
    program = PROGRAMS / "careless.py"
    plain = bare(program, "os_exit", cwd=tmp_path)
    done, _out, data = profiled(program, "os_exit", tmp_path=tmp_path)
    assert done.returncode == plain.returncode == 3, done.stderr
    assert done.stdout == plain.stdout
    (site,) = data["analysis"]["program"]["sites"]
    assert site["tasks"] == 4 and data["program"]["exit_code"] == 3


def test_a_site_called_twice(tmp_path: Path) -> None:
    """A pool in a function called twice is one site of two calls; the half second between
    them, with nothing under way, is not the site's."""
    program = PROGRAMS / "careless.py"
    done, _out, data = profiled(program, "twice", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    (site,) = data["analysis"]["program"]["sites"]
    assert (site["calls"], site["tasks"]) == (2, 8)
    assert site["lineno"] == line_of(program, "executor.map(square")
    assert site["idle_s"] >= 0.5
    (gap,) = site["idle"]
    assert site["wall_s"] == pytest.approx(site["last_s"] - site["first_s"] - (gap[1] - gap[0]))
    assert site["achieved_estimate"] == pytest.approx(site["sequential_s"] / site["wall_s"])
    assert site["sequential_s"] == pytest.approx(site["task_sum_s"] / min(1.0, site["cores"]))


def test_ctrl_c_with_tasks_that_never_end(tmp_path: Path) -> None:
    """Threads that never end: the first Ctrl-C goes to the program (its pool's shutdown
    waits, as under python); the second saves the run and ends profkit, in one line."""
    program = PROGRAMS / "careless.py"
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "profkit", "run", "--quiet", "--out",
                                str(out), str(program), "spin"], cwd=tmp_path, env=cli_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with ended(process):
        assert process.stdout is not None
        assert process.stdout.readline() == "waiting\n"
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        time.sleep(1.0)
        assert process.poll() is None  # the program's own shutdown waits for its threads
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "profkit: the program's threads were still running: ended with it" in stderr
    assert "profkit/" not in stderr  # the program's traceback, not profkit's
    data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert data["interrupted"] is True
    (site,) = data["analysis"]["program"]["sites"]
    assert site["wall_s"] >= 1.0  # under way until the program was stopped


def test_daemon_threads_spinning_at_the_end_do_not_starve_profkits_own_work(tmp_path: Path) -> None:
    """Two daemon threads spin while the program maps and ends; python ends it at once, and
    profkit's own work after it (finding the program's children, saving) shares the GIL with
    them. Its time beyond bare python is checked against the same program without the spinners,
    in this test: short GIL turns keep it within a few times that (at the default 5 ms turns it
    took 11 s against 1.3 s)."""
    program = PROGRAMS / "careless.py"
    overheads = []
    for args in ((), ("spinning",)):
        start = time.perf_counter()
        plain = bare(program, "daemons", *args, cwd=tmp_path)
        python_s = time.perf_counter() - start
        start = time.perf_counter()
        folder = tmp_path / f"case{len(args)}"
        folder.mkdir()
        done, _out, data = profiled(program, "daemons", *args, tmp_path=folder)
        profkit_s = time.perf_counter() - start
        assert done.returncode == plain.returncode == 0, done.stderr
        assert done.stdout == plain.stdout == "[0, 1, 4, 9, 16, 25, 36, 49]\n"
        (site,) = data["analysis"]["program"]["sites"]
        assert site["tasks"] == 8
        overheads.append(profkit_s - python_s)
    quiet, spinning = overheads
    assert spinning < 3 * quiet + 1.0, overheads


def _bare_replay_ratio() -> float:
    """The lesson's primes map, processes over sequential, timed here in interleaved rounds."""
    import statistics
    from concurrent.futures import ProcessPoolExecutor

    sys.path.insert(0, str(PROGRAMS))
    try:
        import primes  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(PROGRAMS))
    ratios = []
    with ProcessPoolExecutor(2) as executor:
        list(executor.map(primes.is_prime, [3, 5]))  # the pool up, as profkit's timed maps have it
        for _ in range(3):
            start = time.perf_counter()
            list(map(primes.is_prime, primes.PRIMES))
            sequential = time.perf_counter() - start
            start = time.perf_counter()
            list(executor.map(primes.is_prime, primes.PRIMES))
            ratios.append(sequential / (time.perf_counter() - start))
    return statistics.median(ratios)


def test_replay_measures_what_the_bare_code_does(tmp_path: Path) -> None:
    """--replay's processes/sequential speedup against the same maps timed here, interleaved,
    just before and just after (load from other programs moves between minutes)."""
    before = _bare_replay_ratio()
    program = PROGRAMS / "primes.py"
    done, out, data = profiled(program, tmp_path=tmp_path, extra=("--replay",))
    after = _bare_replay_ratio()
    assert done.returncode == 0, done.stderr
    replay = data["sites"][0]["replay"]
    assert replay["folder"] == "replay/site1" and replay["note"] is None
    assert (out / "replay" / "site1" / "run.json").is_file()
    assert f"{replay['folder']}/index.html" in (out / "index.html").read_text(encoding="utf-8")
    low, high = sorted([before, after])
    assert low / 1.15 <= replay["speedups"]["processes"] <= high * 1.15, (replay, before, after)


def test_replay_says_why_a_site_is_not_replayed(tmp_path: Path) -> None:
    done, out, data = profiled(PROGRAMS / "methods.py", "fork", tmp_path=tmp_path,
                               extra=("--replay",))
    assert done.returncode == 0, done.stderr
    notes = {s["method"]: s["replay"]["note"] for s in data["sites"]}
    assert notes["Pool.starmap"] == "its tasks take several arguments; a workload's one"
    assert notes["ProcessPoolExecutor.submit"].startswith("its tasks were submitted one by one")
    assert notes["Pool.imap_unordered"] is None
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "not replayed: its tasks were submitted one by one" in html


def test_lines_profile_the_task_in_its_workers(tmp_path: Path) -> None:
    program = PROGRAMS / "double.py"
    done, out, data = profiled(program, tmp_path=tmp_path, extra=("--lines",))
    assert done.returncode == 0, done.stderr
    assert (out / "lines" / "site1.lprof").is_file()
    shown = run_main("lines", out, "--mode", "site1", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "line profile of 5 of 5 items" in shown.stdout
    row = [line for line in shown.stdout.splitlines() if "return i * 2" in line]
    assert row and row[0].split()[:2] == [str(line_of(program, "return i * 2")), "5"]


def test_lines_counts_each_sites_own_tasks(tmp_path: Path) -> None:
    """Of a program with several sites, each site's line profile is of its own tasks, all of
    them, not of every site's tasks together."""
    done, out, data = profiled(PROGRAMS / "methods.py", "fork", tmp_path=tmp_path,
                               extra=("--lines",))
    assert done.returncode == 0, done.stderr
    facts = {s["method"]: s for s in data["analysis"]["program"]["sites"]}
    for method in ("Pool.imap_unordered", "ProcessPoolExecutor.submit"):
        site = facts[method]
        shown = run_main("lines", out, "--mode", site["id"], cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        n = site["tasks"]
        assert f"line profile of {n} of {n} items" in shown.stdout, (method, shown.stdout)
