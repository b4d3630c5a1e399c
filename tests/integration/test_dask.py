"""The dask mode on real clusters: embedded LocalCluster, an external scheduler and
workers started as `dask` subprocesses on loopback, a worker killed mid-run, and a
scheduler address nobody listens on. No mocks."""

from __future__ import annotations

import contextlib
import os
import pstats
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    import distributed  # in CI a missing dask is a failure, not a skip
else:
    distributed = pytest.importorskip("distributed")

from profkit.collectors.worker import TASKS, run_batch  # noqa: E402
from profkit.errors import UsageError  # noqa: E402
from profkit.executors.base import Settings  # noqa: E402
from profkit.executors.dask.addresses import normalize_address  # noqa: E402
from profkit.executors.dask.executor import DaskExecutor  # noqa: E402
from profkit.model import ModeSpec  # noqa: E402
from profkit.pipeline import profile  # noqa: E402
from profkit.run import load  # noqa: E402
from profkit.workloads.model import Workload  # noqa: E402
from profkit.workloads.primes import is_prime  # noqa: E402

pytestmark = [pytest.mark.dask, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]

#: Six numbers near 1e11 (about 7 ms each): one duplicate (items 0 and 2), one composite.
SMALL = [100000000003, 100000000019, 100000000003, 100000000057, 100000000063, 3306091 * 30011]
SMALL_PRIMES = Workload("small-primes", is_prime, SMALL, description="six numbers near 1e11")

#: Six primes near 1e13 (about 75 ms each): maps long enough to kill a worker in the middle.
SLOWER_PRIMES = Workload("slower-primes", is_prime,
                         [10000000000037, 10000000000051, 10000000000099, 10000000000129,
                          10000000000037, 10000000000051])

ADDRESS = re.compile(r"^tcp://127\.0\.0\.1:\d+$")


# -- helpers and fixtures --


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children() -> dict[int, str]:
    """Live descendants of this process, minus multiprocessing's long-lived helpers."""
    found = {}
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            argv = child.cmdline()
            cmd = " ".join(argv)
        except psutil.Error:
            continue
        if not argv or "python" not in argv[0]:
            continue  # e.g. the session's headless Chromium, which is not ours to check here
        if "resource_tracker" in cmd or "forkserver" in cmd:
            continue
        found[child.pid] = cmd
    return found


@pytest.fixture
def no_orphans():
    """Fail the test if it leaves a process behind (and kill what it left)."""
    before = set(_children())
    yield
    deadline = time.monotonic() + 10
    while True:
        left = {pid: cmd for pid, cmd in _children().items() if pid not in before}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for pid in left:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    assert not left, f"processes left behind: {left}"


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                start_new_session=True)


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each process group, then SIGKILL what is left: never orphan a worker."""
    tree = []
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            tree += psutil.Process(proc.pid).children(recursive=True)
    for proc in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    for proc in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    _, alive = psutil.wait_procs(tree, timeout=5)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


@pytest.fixture(scope="module")
def external_cluster(tmp_path_factory):
    """`dask scheduler` and two single-threaded `dask worker`s on 127.0.0.1, as subprocesses."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask-cluster")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    processes: list[subprocess.Popen] = []
    try:
        processes.append(_spawn(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", str(port), "--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
            logs / "scheduler.log", env))
        for k in range(2):
            processes.append(_spawn(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                 "--host", "127.0.0.1", "--no-dashboard", "--name", f"worker-{k}",
                 "--local-directory", str(logs / f"worker-{k}")], logs / f"worker-{k}.log", env))
        try:
            with distributed.Client(address, timeout=30, set_as_default=False) as client:
                client.wait_for_workers(2, timeout=60)
        except Exception as exc:
            text = "\n".join(f"== {p.name}\n{p.read_text()[-2000:]}" for p in logs.glob("*.log"))
            pytest.fail(f"the external Dask cluster did not come up ({exc}):\n{text}")
        yield address
    finally:
        _stop(processes[1:])  # workers first, then the scheduler
        _stop(processes[:1])


def _is_prime_calls(stats: pstats.Stats) -> int:
    return sum(nc for (_, _, name), (_, nc, *_rest) in stats.stats.items()  # type: ignore[attr-defined]
               if name == "is_prime")


def _check_dask_run(run, out: Path) -> None:
    """What every successful dask run must show: 6 tasks with worker addresses, 6 is_prime calls."""
    assert run.meta.status["dask"] == "ok", run.meta.errors
    tasks = run.frames["tasks"]
    dask_tasks = tasks[tasks["mode"] == "dask"].sort_values("item")
    assert list(dask_tasks["item"]) == list(range(6))  # the duplicate ran as its own task
    assert all(ADDRESS.match(w) for w in dask_tasks["worker"]), list(dask_tasks["worker"])
    assert dask_tasks["ok"].all()
    seq = tasks[tasks["mode"] == "sequential"].sort_values("item")
    assert list(dask_tasks["result_repr"]) == list(seq["result_repr"])  # results in item order
    assert (dask_tasks["start_s"] >= -0.5).all() and (dask_tasks["end_s"] >= dask_tasks["start_s"]).all()
    assert _is_prime_calls(run.profiles["dask"]) == 6
    saved = pstats.Stats(str(out / "profiles" / "dask.prof"))
    assert _is_prime_calls(saved) == 6
    assert (out / "lines" / "dask.lprof").is_file()
    timings = run.frames["timings"]
    assert len(timings[(timings["mode"] == "dask") & (timings["phase"] == "map")]) == 2
    again = load(out)
    assert again.meta.modes["dask"].pool["kind"] == "dask"


# -- tests --


def test_embedded_local_cluster(tmp_path, no_orphans):
    out = tmp_path / "run"
    # a line budget every item fits (about 90 ms each traced): each mode traces its own, so
    # dask's .lprof is there whatever the items' times (at 0.05 s a slow moment left the line
    # pass to the first mode alone)
    run = profile(SMALL_PRIMES, modes="sequential,processes,dask:2", workers=2, repeat=2,
                  out=out, line_budget=1)
    assert run.meta.status == {"sequential": "ok", "processes": "ok", "dask": "ok"}
    _check_dask_run(run, out)
    pool = run.meta.modes["dask"].pool
    assert pool["cluster"] == "embedded" and pool["workers"] == 2
    assert ADDRESS.match(pool["address"])
    assert len(pool["worker_info"]) == 2
    assert {w["nthreads"] for w in pool["worker_info"]} == {1}
    used = set(run.frames["tasks"].query("mode == 'dask'")["worker"])
    assert used <= {w["address"] for w in pool["worker_info"]}


def test_executor_map_duplicates_submit_and_close(no_orphans):
    pool = DaskExecutor(ModeSpec("dask", 2), Settings())
    pids: list[int] = []
    try:
        pool.start(is_prime)
        wall, cpu = pool.time_map(is_prime, SMALL, timeout=60)
        assert wall > 0 and cpu > 0
        # pure=False: equal items are separate tasks; each runs on a worker, none is merged.
        payload = pool.submit(run_batch, is_prime, list(enumerate(SMALL)), TASKS, ()).result(timeout=60)
        tasks = payload.tasks
        assert list(tasks.index) == list(range(6))
        assert all(ADDRESS.match(tasks.workers[w].address) for w in tasks.worker)
        assert [tasks.notes[i].result for i in range(6)] == [is_prime(n) for n in SMALL]
        with pytest.raises(TimeoutError):
            pool.submit(time.sleep, 3).result(timeout=0.2)
        pids = pool.worker_pids()
        assert len(pids) == 2 and all(psutil.pid_exists(p) for p in pids)
        described = pool.describe()
        assert {w["pid"] for w in described["worker_info"]} == set(pids)
    finally:
        t0 = time.monotonic()
        pool.close(kill=True)
        assert time.monotonic() - t0 < 30
    assert not [p for p in pids if psutil.pid_exists(p) and
                psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def test_external_cluster(external_cluster, tmp_path, no_orphans):
    out = tmp_path / "run"
    run = profile(SMALL_PRIMES, modes="sequential,dask", repeat=2, out=out, line_budget=1,
                  scheduler=external_cluster)  # every item fits: dask traces its own
    assert run.meta.status == {"sequential": "ok", "dask": "ok"}, run.meta.errors
    _check_dask_run(run, out)
    pool = run.meta.modes["dask"].pool
    assert pool["cluster"] == "external"
    assert pool["address"] == external_cluster
    assert pool["workers"] == 2  # the cluster's worker threads
    workers = {w["address"]: w for w in pool["worker_info"]}
    assert len(workers) == 2 and all(w["same_host"] for w in workers.values())
    assert set(run.frames["tasks"].query("mode == 'dask'")["worker"]) <= set(workers)
    # Local workers are sampled for memory, by pid.
    memory = run.frames["memory"]
    sampled = set(memory[(memory["mode"] == "dask") & (memory["role"] == "worker")]["pid"])
    assert {w["pid"] for w in workers.values()} <= sampled
    # The shared cluster is left as found: both workers up, none of our tasks or plugins.
    with distributed.Client(external_cluster, timeout=30, set_as_default=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        deadline = time.monotonic() + 10
        while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
            assert time.monotonic() < deadline, "our tasks are still on the scheduler"
            time.sleep(0.1)
        plugins = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins))
        assert not [p for p in plugins if p.startswith("profkit")]


FILE_WORKLOAD = """
from profkit import Workload


def square(x):
    return x * x


WORKLOAD = Workload("squares", square, list(range(6)))
"""


def _run_file_workload(tmp_path: Path, scheduler: str | None) -> None:
    """A task defined in a file (not an importable module) reaches scheduler and workers by path."""
    target = tmp_path / "squares_workload.py"
    target.write_text(FILE_WORKLOAD)
    run = profile(f"{target}:WORKLOAD", modes="dask:2", repeat=1, out=tmp_path / "run",
                  line_budget=0.05, scheduler=scheduler)
    assert run.meta.status == {"dask": "ok"}, run.meta.errors
    tasks = run.frames["tasks"].sort_values("item")
    assert list(tasks["result_repr"]) == ["0", "1", "4", "9", "16", "25"]
    assert run.meta.modes["dask"].pool["cluster"] == ("external" if scheduler else "embedded")


def test_workload_from_a_file_embedded(tmp_path, no_orphans):
    _run_file_workload(tmp_path, None)


def test_workload_from_a_file_external(external_cluster, tmp_path, no_orphans):
    _run_file_workload(tmp_path, external_cluster)


def _dask_worker_pids() -> list[int]:
    return [pid for pid, cmd in _children().items() if "spawn_main" in cmd]


def test_worker_killed_mid_run(tmp_path, no_orphans):
    killed: list[int] = []

    def kill_a_worker() -> None:
        time.sleep(0.1)  # into timing round 2
        pids = _dask_worker_pids()
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    def progress(message: str) -> None:
        if message.startswith("round 1/3") and not killed:
            threading.Thread(target=kill_a_worker, daemon=True).start()

    t0 = time.monotonic()
    run = profile(SLOWER_PRIMES, modes="sequential,dask:2", repeat=3, out=tmp_path / "run",
                  line_budget=0.05, progress=progress)
    elapsed = time.monotonic() - t0
    assert killed, "the test found no dask worker to kill"
    assert run.meta.status == {"sequential": "ok", "dask": "failed"}
    error = run.meta.errors["dask"]
    assert error.startswith("dask:2: the Dask worker tcp://127.0.0.1:") and "died" in error
    timings = run.frames["timings"]
    assert len(timings[(timings["mode"] == "sequential") & (timings["phase"] == "map")]) == 3
    assert "sequential" in run.profiles
    assert elapsed < 60


def test_task_that_exits_the_worker(tmp_path, no_orphans):
    from tests.fixtures.workloads import EXITS  # os._exit(7) on item 3

    t0 = time.monotonic()
    run = profile(EXITS, modes="processes:2,dask:2", repeat=1, out=tmp_path / "run")
    assert time.monotonic() - t0 < 60
    assert run.meta.status == {"processes": "failed", "dask": "failed"}
    error = run.meta.errors["dask"]
    assert "the Dask worker tcp://127.0.0.1:" in error and "died" in error and "os._exit" in error


def test_hung_task_times_out_and_leaves_nothing(tmp_path, no_orphans):
    from tests.fixtures.workloads import HANGS  # item 3 sleeps for an hour

    t0 = time.monotonic()
    run = profile(HANGS, modes="dask:2", repeat=1, out=tmp_path / "run", timeout=3)
    assert time.monotonic() - t0 < 40
    assert run.meta.status == {"dask": "timeout"}, run.meta.errors


def test_unreachable_scheduler(tmp_path, no_orphans):
    address = f"tcp://127.0.0.1:{_free_port()}"  # nobody listens there
    t0 = time.monotonic()
    run = profile(SMALL_PRIMES, modes="sequential,dask:2", repeat=1, out=tmp_path / "run",
                  line_budget=0.05, scheduler=address)
    elapsed = time.monotonic() - t0
    assert elapsed < 40
    assert run.meta.status == {"sequential": "ok", "dask": "failed"}
    error = run.meta.errors["dask"]
    assert f"cannot reach the Dask scheduler at {address}" in error
    assert "dask scheduler" in error
    assert "sequential" in run.profiles


@pytest.mark.parametrize(("text", "expected"), [
    ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    ("10.0.0.5:9000", "tcp://10.0.0.5:9000"),
    ("tcp://scheduler.local", "tcp://scheduler.local:8786"),
    (" tcp://[::1]:8786 ", "tcp://[::1]:8786"),
    ("tls://10.0.0.5:8786", "tls://10.0.0.5:8786"),
])
def test_normalize_address(text, expected):
    assert normalize_address(text) == expected


@pytest.mark.parametrize("text", ["tcp://", "tcp://host:port", "tcp://host:70000", "tcp://a/b:1",
                                  "::1", "tcp://a b:1"])
def test_bad_address_is_a_usage_error(text):
    with pytest.raises(UsageError, match="scheduler address"):
        normalize_address(text)


def test_distributed_stays_optional():
    """profkit imports without distributed; DaskPool says how to install it."""
    code = (
        "import sys\n"
        "sys.modules['distributed'] = None  # as if not installed\n"
        "import profkit, profkit.pipeline, profkit.engine.runner, profkit.executors.registry\n"
        "import profkit.executors.dask.executor as dx\n"
        "from profkit.executors.base import Settings\n"
        "from profkit.model import ModeSpec\n"
        "from profkit.errors import UsageError\n"
        "try:\n"
        "    dx.DaskExecutor(ModeSpec('dask', 2), Settings())\n"
        "except UsageError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "the dask mode needs dask.distributed: pip install 'profkit[dask]'"
    lazy = subprocess.run([sys.executable, "-c", "import sys, profkit.pipeline, "
                           "profkit.executors.dask.executor; print('distributed' in sys.modules)"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert lazy.stdout.strip() == "False", lazy.stderr


# -- the dask speedup against a bare client.map on the same cluster (a serial dask map would time 1x) --

from profkit.workloads.primes import PRIMES  # noqa: E402
from tests.fixtures.bare import (  # noqa: E402
    BareRound,
    agrees,
    agrees_in_one_of,
    like_for_like,
    metered_ratios,
)

PRIMES_WORKLOAD = Workload("primes", is_prime, PRIMES)


def _bare_dask_rounds(client) -> list[BareRound]:
    """Bare serial / client.map rounds, each metered as profkit meters its own (the cluster's
    workers on this host are the round's work): their spread is how much the machine moved."""
    pids = [int(pid) for pid in client.run(os.getpid).values()]
    return metered_ratios(lambda: [is_prime(n) for n in PRIMES],
                          lambda: client.gather(client.map(is_prime, PRIMES, pure=False)),
                          rounds=3, own_pids=pids)


def _check_dask_speedup(run, before: list[BareRound], after: list[BareRound],
                        client) -> tuple[bool, object]:
    """profkit's dask speedup against the bare rounds as quiet as the rounds it counted: whether
    it agrees, and what to print if not (``agrees_in_one_of``: a burst of host slowness over a
    few rounds can miss once, a bias misses every time)."""
    assert run.meta.status["dask"] == "ok", run.meta.errors
    speedup, bare = like_for_like(run, "dask", before + after, lambda: _bare_dask_rounds(client))
    # >= 1.4x where every bare round reaches it (a busy machine lowers both, and the bare
    # rounds' worst is what the machine allowed), and within 15% of the bare figure
    seen = (speedup, bare, before, after, [(r.others_cpu, r.spoiled) for r in run.meta.rounds])
    assert len(run.frames["timings"].query("mode == 'dask' and phase == 'map'")) >= 3
    return speedup >= min(1.4, 0.85 * min(bare)) and agrees(speedup, bare, 0.15), seen


@contextlib.contextmanager
def _local_cluster_client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  scheduler_kwargs={"dashboard": False,
                                                    "dashboard_address": "127.0.0.1:0"}
                                  ) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


def test_dask_speedup_matches_a_bare_client_map_on_an_embedded_cluster(tmp_path, no_orphans):
    def attempt(k: int) -> tuple[bool, object]:
        with _local_cluster_client() as client:
            before = _bare_dask_rounds(client)
        run = profile(PRIMES_WORKLOAD, modes="sequential,dask", workers=2, line_budget=0.05,
                      max_time=15, out=tmp_path / f"run{k}")
        with _local_cluster_client() as client:
            return _check_dask_speedup(run, before, _bare_dask_rounds(client), client)

    agrees_in_one_of(attempt)


def test_dask_speedup_matches_a_bare_client_map_on_an_external_cluster(external_cluster, tmp_path):
    def attempt(k: int) -> tuple[bool, object]:
        with distributed.Client(external_cluster, set_as_default=False) as client:
            before = _bare_dask_rounds(client)
        run = profile(PRIMES_WORKLOAD, modes="sequential,dask", line_budget=0.05, max_time=15,
                      scheduler=external_cluster, out=tmp_path / f"run{k}")
        assert run.meta.modes["dask"].pool["cluster"] == "external"
        with distributed.Client(external_cluster, set_as_default=False) as client:
            return _check_dask_speedup(run, before, _bare_dask_rounds(client), client)

    agrees_in_one_of(attempt)


def gc_enabled(_: object) -> bool:
    import gc

    return gc.isenabled()


def test_dask_workers_time_with_gc_off_and_profile_with_it_on(no_orphans):
    executor = DaskExecutor(ModeSpec("dask", 2), Settings())
    try:
        executor.start(gc_enabled)
        assert set(executor.client.run(gc_enabled, None).values()) == {False}
        payload = executor.submit(run_batch, gc_enabled, [(0, None)], TASKS).result(timeout=60)
        assert payload.tasks.notes[0].result is True
    finally:
        executor.close(kill=True)


def test_kill_9_of_profkit_leaves_no_dask_worker_alive(tmp_path):
    from tests.fixtures.cli import kill_9_leaves_nothing

    assert kill_9_leaves_nothing("sequential,dask:2", tmp_path / "run") == []
