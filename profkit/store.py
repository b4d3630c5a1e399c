"""The run directory: save a run atomically, load it back whole, refuse what it is not.

Layout::

    RUN_DIR/index.html            the report
    RUN_DIR/run.json              metadata, status per mode, analysis, artifacts, format_version
    RUN_DIR/profiles/<mode>.prof  merged cProfile stats (snakeviz, pstats)
    RUN_DIR/lines/<mode>.lprof    merged line stats (python -m line_profiler)
    RUN_DIR/frames/<name>.parquet the frames
    RUN_DIR/trace/<mode>.json     per-worker timelines, Chrome trace JSON (Perfetto, chrome://tracing)
    RUN_DIR/memory/<mode>.dat     memory samples in mprof's format (mprof plot memory/<mode>.dat)

Version history of ``run.json`` (``FORMAT_VERSION``):

* 1 -- first format.
* 2 -- interleaved rounds: ``rounds``, mode ``traits``, timings columns ``order``,
  ``others_cpu`` and ``spoiled``; ``repeat`` may be ``"auto"``. Version 1 is refused.
* 3 -- the run record's JSON (:class:`profkit.record.RunMeta`), every field checked against
  its type; the analysis ranks bottlenecks and hot lines without profkit's own frames. A
  version-2 file reads the same way; its analysis is redone from its frames on load.
* 4 -- the analysis is the JSON of :class:`profkit.analysis.records.Analysis`, every field
  checked against its type; it holds facts, not sentences (the verdict's headline, the
  advice, the notes, the cards are records that the renderers word). A version-2 or 3
  file's metadata reads the same way; its analysis is redone from its frames on load (it is
  not read).

Opening a run reads ``run.json`` (JSON), the frames (parquet) and the ``.prof``
files (marshal, via pstats). It never unpickles: ``.lprof`` files are pickles and
are only written, for ``python -m line_profiler``. Every artifact path must stay
inside the run folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import json
import math
import os
import pickle
import pstats
import shlex
import signal
import stat
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from profkit import codec, interrupts
from profkit.analysis.records import Analysis
from profkit.codec import RecordError
from profkit.errors import ProfkitWarning, RunDirError, StoreError, UsageError
from profkit.frames import COLUMNS, FRAME_NAMES, OPTIONAL_COLUMNS, OPTIONAL_FRAMES, empty
from profkit.model import JSON
from profkit.options import record_kinds
from profkit.record import Artifacts, RunMeta

if TYPE_CHECKING:
    import pandas as pd

FORMAT_VERSION = 4
#: The oldest run.json this profkit opens (its analysis is redone when older than the current).
OLDEST_READABLE = 2
RUN_FILE = "run.json"
REPORT_FILE = "index.html"
#: Created with O_EXCL in a run folder while a run writes to it: two runs never share one.
CLAIM_FILE = ".profkit-claim"
#: artifacts section -> the file extension its paths must have.
ARTIFACT_KINDS = {"profiles": ".prof", "lines": ".lprof", "frames": ".parquet",
                  "memory": ".dat", "traces": ".json"}


# -- atomic writes --------------------------------------------------------


def _umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Files and folders this process's store created (absolute): all that discarding a run
#: folder may remove, so a file the user put there is never deleted.
_written: set[Path] = set()


def _mkdirs(folder: Path) -> None:
    """``folder.mkdir(parents=True, exist_ok=True)``, noting the folders it created."""
    missing = [p for p in (folder, *folder.parents) if not p.is_dir()]
    folder.mkdir(parents=True, exist_ok=True)
    _written.update(p.absolute() for p in missing)


@contextlib.contextmanager
def _atomic(path: Path, mode: str) -> Iterator[Any]:
    _mkdirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    _written.update((Path(tmp).absolute(), path.absolute()))
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the mode open() would
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to a temporary name beside ``path``, then rename it into place."""
    with _atomic(path, "w") as f:
        f.write(text)


#: Frames longer than this are written to parquet in row groups of this many rows, so the
#: arrow copy of a huge frame never exists whole: the writer's buffers grow with the row
#: group (about 50 MB at 250,000 task rows, 10 MB at 25,000; the file grows by about 15%).
PARQUET_ROWS = 25_000


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """``frame.to_parquet(path, index=False)``, a row group at a time for a long frame."""
    if len(frame) <= PARQUET_ROWS:
        frame.to_parquet(path, index=False)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(path, schema) as writer:
        for k in range(0, len(frame), PARQUET_ROWS):
            part = frame.iloc[k:k + PARQUET_ROWS]
            writer.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))


def atomic_write_pieces(path: Path, pieces: Iterable[str]) -> None:
    """:func:`atomic_write_text` for text that comes in pieces (never all in memory at once)."""
    with _atomic(path, "w") as f:
        for piece in pieces:
            f.write(piece)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with _atomic(path, "wb") as f:
        f.write(data)


# -- signals --------------------------------------------------------------

_deferring = threading.local()


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then raise KeyboardInterrupt once.

    Saving runs inside this block, so Ctrl-C (once or many times) never leaves half a
    run folder behind. Nested blocks and other threads pass through.
    """
    if threading.current_thread() is not threading.main_thread() or getattr(
            _deferring, "active", False):
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: object) -> None:
        interrupts.record(signum)
        if not received:
            sys.stderr.write("profkit: saving the run first, then stopping\n")
            sys.stderr.flush()
        received.append(signum)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    _deferring.active = True
    try:
        yield
    finally:
        _deferring.active = False
        for s, handler in previous.items():
            signal.signal(s, handler)
    if received:
        raise KeyboardInterrupt


# -- run directory --------------------------------------------------------

#: run folders this process has claimed -> the token written in their claim file.
_claims: dict[Path, str] = {}
#: run folder -> the folders its claim created (itself and missing parents), innermost first.
_created: dict[Path, list[Path]] = {}


def _holds_claim(path: Path) -> bool:
    token = _claims.get(path)
    if token is None:
        return False
    try:
        return (path / CLAIM_FILE).read_text(encoding="utf-8") == token
    except OSError:
        return False


def user_path(value: object, what: str) -> Path:
    """A path the user gave (text or os.PathLike), or UsageError naming ``what``."""
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return Path(value)
    raise UsageError(f"{what} must be a path (text or a pathlib.Path), got {value!r}")


def prepare_run_dir(directory: str | os.PathLike[str]) -> Path:
    """Claim a new, empty run folder (absolute path), atomically; never reuse one that exists.

    A claim file created with O_EXCL marks the folder as taken, so of two runs given the
    same ``--out`` at once, the second is refused before it does any work.
    """
    path = user_path(directory, "the run folder (out)").absolute()
    if _holds_claim(path):
        return path
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:  # parquet names its files in UTF-8: the save would fail at the end
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise RunDirError(f"output folder {shown} has bytes in its name that are not UTF-8 text, "
                          "where the run's files cannot be saved: choose a UTF-8 --out") from None
    try:
        if path.exists() and not path.is_dir():
            raise RunDirError(f"output folder {path} already exists and is a file: choose "
                              "another --out, or leave --out off for a fresh timestamped folder")
        missing = [p for p in (path, *path.parents) if not p.exists()]
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise RunDirError(f"output folder {path} cannot be made: {above} is a file, not a "
                              "folder: choose another --out")
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            path.mkdir()
        if any(p.name != CLAIM_FILE for p in path.iterdir()):
            raise RunDirError(
                f"output folder {path} already exists and is not empty: "
                "choose another --out, or leave --out off for a fresh timestamped folder"
            )
        fd = _create_claim(path)
    except OSError as exc:
        fix = "a shorter" if exc.errno == errno.ENAMETOOLONG else "a writable"
        raise RunDirError(f"cannot write to output folder {path}: {exc.strerror or exc}: "
                          f"choose {fix} --out") from exc
    token = f"{os.getpid()} {_process_start(os.getpid())!r} {os.urandom(8).hex()}"
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token)
    _claims[path] = token
    _created[path] = missing
    _written.update([*missing, path / CLAIM_FILE])
    return path


#: A claim file that names no process (its writer died, or the disk was full, before it
#: wrote one) is stale once it is this old: a live run writes its claim straight after making it.
EMPTY_CLAIM_STALE_S = 10.0
_CLAIM_MAX_BYTES = 256


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), or None if it is not running."""
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.NoSuchProcess:
        return None
    except psutil.Error:  # running, but not ours to read
        return float("nan")


def _claim_holder(claim: Path) -> tuple[os.stat_result, str | None] | None:
    """The claim file's stat and, if its claimant is gone, why; None if the file vanished.

    The claim names the claimant's pid and start time: a pid that is not running, or
    that now names a process started at another time (the pid was reused), holds nothing.
    A claim that names no process is stale once :data:`EMPTY_CLAIM_STALE_S` old.
    """
    import time

    try:
        with open(claim, "rb") as f:
            info = os.fstat(f.fileno())
            text = f.read(_CLAIM_MAX_BYTES).decode("ascii", "replace")
    except FileNotFoundError:
        return None
    except OSError:
        return None
    fields = text.split()
    pid = int(fields[0]) if fields and fields[0].isdigit() and 0 < int(fields[0]) < 2**31 else None
    if pid is None:
        age = time.time() - info.st_mtime
        return info, (f"it names no process and is {age:.0f} s old"
                      if age >= EMPTY_CLAIM_STALE_S else None)
    started = _process_start(pid)
    if started is None:
        return info, f"process {pid} is not running"
    try:
        claimed_start = float(fields[1]) if len(fields) >= 3 else None
    except ValueError:
        claimed_start = None
    if claimed_start is not None and math.isfinite(claimed_start) and math.isfinite(started) \
            and abs(started - claimed_start) > 1.0:
        return info, f"process {pid} is not running (that pid now names another process)"
    return info, None  # alive (in this process: another thread is claiming it now)


def _create_claim(path: Path) -> int:
    """Create ``path``'s claim file with O_EXCL and return its fd; take over a stale claim.

    Taking over renames the stale file aside first, and checks that what it renamed is the
    very file it judged (same inode): of two runs taking over at once, one wins.
    """
    claim = path / CLAIM_FILE
    for _ in range(3):
        try:
            return os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            pass
        holder = _claim_holder(claim)
        if holder is None:
            continue  # released meanwhile: try again
        info, stale = holder
        if stale is None:
            raise RunDirError(f"output folder {path} is being written by another profkit run: "
                              "choose another --out")
        aside = path / f"{CLAIM_FILE}.stale-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            os.rename(claim, aside)
        except FileNotFoundError:
            continue  # another run took it over first
        moved = os.stat(aside)
        if (moved.st_ino, moved.st_dev) != (info.st_ino, info.st_dev):
            with contextlib.suppress(OSError):  # a live run's fresh claim: put it back
                os.link(aside, claim)
            with contextlib.suppress(OSError):
                os.unlink(aside)
            continue
        os.unlink(aside)
        warnings.warn(f"taking over {path}: its claim is stale ({stale})", ProfkitWarning,
                      stacklevel=4)
    raise RunDirError(f"output folder {path} is being written by another profkit run: "
                      "choose another --out")


def claim_fresh_run_dir(base: Path, attempts: int = 100) -> Path:
    """Claim ``base``, or ``base-2``, ``base-3``... if another run took it first."""
    for n in range(1, attempts + 1):
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        if _holds_claim(candidate.absolute()):  # taken by another run of this process
            continue
        try:
            return prepare_run_dir(candidate)
        except RunDirError:
            if not candidate.exists():
                raise
    raise RunDirError(f"{base} and {attempts - 1} variants of it are taken: give --out")


def release_run_dir(path: Path, *, discard: bool) -> None:
    """Drop this process's claim on ``path``; with ``discard``, remove what the run wrote.

    Only what this process wrote goes: a file someone saved in the folder meanwhile
    stays, and so does the folder then.
    """
    path = path.absolute()
    if not _holds_claim(path):
        return
    del _claims[path]
    created = _created.pop(path, [])
    if discard:
        _remove_written(path)
        for folder in created:  # the run folder, then parents the claim made (if still empty)
            try:
                folder.rmdir()
            except OSError:
                break
    else:
        with contextlib.suppress(OSError):
            (path / CLAIM_FILE).unlink()
        if not any(path.is_relative_to(held) for held in _claims):  # kept for good
            _written.difference_update([p for p in _written if p.is_relative_to(path)])


def _remove_written(path: Path) -> None:
    """Remove, under ``path``, the files and then the emptied folders this process wrote."""
    for folder, dirs, files in os.walk(path, topdown=False):
        here = Path(folder)
        for name in files:
            if here / name in _written:
                with contextlib.suppress(OSError):
                    (here / name).unlink()
                _written.discard(here / name)
        for name in dirs:
            if here / name in _written:
                with contextlib.suppress(OSError):
                    (here / name).rmdir()  # only if emptied: a user's file keeps it
                    _written.discard(here / name)


@contextlib.contextmanager
def claimed_run_dir(directory: str | os.PathLike[str] | None) -> Iterator[Path | None]:
    """Claim the run folder before any work; if no run gets saved into it, leave nothing."""
    if directory is None:
        yield None
        return
    path = prepare_run_dir(directory)
    try:
        yield path
    except BaseException:
        release_run_dir(path, discard=not _holds_a_run(path))
        raise
    release_run_dir(path, discard=not _holds_a_run(path))


#: What ``profkit ab`` writes beside its two run folders, A/ and B/.
AB_FILE = "ab.json"


def _holds_a_run(path: Path) -> bool:
    return (path / RUN_FILE).is_file() or (path / AB_FILE).is_file()


def artifact_path(run_dir: Path, rel: object, where: str = RUN_FILE, suffix: str = "") -> Path:
    """``run_dir / rel``, refused unless it is a relative path that stays inside ``run_dir``."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise StoreError(f"{run_dir / where} lists an artifact path that is not a string "
                         f"({rel!r}): re-run profkit profile")
    root = run_dir.resolve()
    target = (root / rel).resolve()
    if os.path.isabs(rel) or not target.is_relative_to(root) or target == root:
        raise StoreError(f"{run_dir / where} lists the artifact path {rel!r}, which is outside "
                         "the run folder: refused; re-run profkit profile")
    if suffix and not rel.endswith(suffix):
        raise StoreError(f"{run_dir / where} lists the artifact path {rel!r}, which is not a "
                         f"{suffix} file: refused; re-run profkit profile")
    return target


def _json_default(value: object) -> object:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value: object) -> object:
    """NaN and infinity are not JSON: store them as null; an enum is stored as its value, a
    record (:mod:`profkit.record`) as its fields."""
    if isinstance(value, enum.Enum):
        return _clean(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return codec.to_json(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _clean(value.item())
    return value


def to_json(data: Mapping[str, object]) -> str:
    return json.dumps(_clean(data), indent=2, default=_json_default, allow_nan=False)


class StoredRun(Protocol):
    """What the store reads and writes of a run (:class:`profkit.run.Run` is one)."""

    meta: RunMeta
    analysis: Analysis
    frames: dict[str, pd.DataFrame]
    profiles: dict[str, pstats.Stats]
    #: line_profiler's stats of a run made in this process, pickled as ``.lprof`` files
    line_stats: dict[str, object]
    memory_dat: dict[str, str]
    path: Path | None


R = TypeVar("R", bound=StoredRun)


def save(run: R, directory: str | os.PathLike[str], *,
         report: Callable[[R], str] | None = None,
         traces: Callable[[R, Path], dict[str, str]] | None = None,
         analyse: Callable[[R], None] | None = None) -> Path:
    """Write stats, frames and ``run.json`` as one step, then the analysis, then the report.

    ``report`` renders the run's report as HTML text; ``traces`` writes its extra files into
    its folder and returns their paths for ``run.json``; ``analyse`` completes a run whose
    measurements are saved (its analysis, and the frames derived from it).

    SIGINT and SIGTERM wait until it is done; if writing the measurements fails, what was
    written is removed. ``run.json`` marks a saved run and is written first, so an
    ``analyse`` or a ``report`` that fails loses nothing (``profkit report`` redoes both).
    The store renders and analyses nothing itself: the caller passes the ``report``,
    ``traces`` and ``analyse`` steps.
    """
    with deferred_signals():
        path = prepare_run_dir(directory)
        try:
            _write_data(run, path, traces)
        except OSError as exc:
            release_run_dir(path, discard=True)
            raise RunDirError(f"cannot save the run in {path}: {exc.strerror or exc}; nothing "
                              "was kept: free some space, or choose another --out") from exc
        except BaseException:
            release_run_dir(path, discard=True)
            raise
        run.path = path
        if analyse is not None:
            _analyse(run, path, analyse)
        if report is not None and run.meta.analysis_error is None:
            _write_report(run, path, report)
        release_run_dir(path, discard=False)
    return path


def _analyse(run: R, path: Path, analyse: Callable[[R], None]) -> None:
    """Analyse the saved measurements; save what the analysis adds, or why it failed."""
    try:
        analyse(run)
    except Exception as exc:  # noqa: BLE001 - an analysis bug must not lose the measurements
        run.meta.analysis_error = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"the analysis failed ({run.meta.analysis_error}); the measurements "
                      f"are saved: analyse them again with "
                      f"`profkit report {shlex.quote(str(path))}`", ProfkitWarning, stacklevel=3)
    else:
        try:
            frames = run.meta.artifacts.frames
            for name, frame in run.frames.items():
                if name not in frames:
                    frames[name] = _write_frame(path, name, frame)
        except OSError:  # a full disk: the measurements are saved, the report redoes the rest
            return
    _rewrite_run_json(run, path)


def _write_report(run: R, path: Path, report: Callable[[R], str]) -> None:
    """The report; if it cannot be rendered or written, a warning and ``report_error``."""
    try:
        atomic_write_text(path / REPORT_FILE, report(run))
        return
    except OSError as exc:
        run.meta.report_error = f"{type(exc).__name__}: {exc.strerror or exc}"
        problem = "written"
    except Exception as exc:  # noqa: BLE001 - a renderer bug must not lose the measurements
        run.meta.report_error = f"{type(exc).__name__}: {exc}"
        problem = "rendered"
    warnings.warn(f"the report could not be {problem} ({run.meta.report_error}); the data "
                  f"is saved: re-render it with `profkit report {shlex.quote(str(path))}`",
                  ProfkitWarning, stacklevel=3)
    _rewrite_run_json(run, path)


def _rewrite_run_json(run: StoredRun, path: Path) -> None:
    """``run.json`` again, with what changed since; on a full disk the one written stays."""
    with contextlib.suppress(OSError):
        _write_run_json(run, path)


def _write_run_json(run: StoredRun, path: Path) -> None:
    """``run.json``: the run's metadata record and its analysis."""
    atomic_write_text(path / RUN_FILE, to_json({**run.meta.to_json(),
                                                 "analysis": _analysis_json(run.analysis)}))


def _analysis_json(analysis: Analysis) -> dict[str, JSON]:
    """The analysis as run.json stores it: ``{}`` for a run not analysed (or whose analysis failed)."""
    return {} if analysis == Analysis() else analysis.to_json()


def _write_frame(path: Path, name: str, frame: pd.DataFrame) -> str:
    """One frame as ``frames/<name>.parquet``, atomically; its path inside the run folder."""
    target = path / "frames" / f"{name}.parquet"
    _mkdirs(target.parent)
    tmp = target.with_name(f".{target.name}.tmp")
    _written.update((tmp, target))
    _write_parquet(frame, tmp)
    os.replace(tmp, target)
    return f"frames/{name}.parquet"


def _write_data(run: R, path: Path, traces: Callable[[R, Path], dict[str, str]] | None) -> None:
    """Stats, frames, then ``run.json`` (its presence marks a saved run)."""
    artifacts = Artifacts(report=REPORT_FILE)
    for mode, stats in run.profiles.items():
        if stats is None:
            continue
        target = path / "profiles" / f"{mode}.prof"
        _mkdirs(target.parent)
        tmp = target.with_name(f".{target.name}.tmp")
        _written.update((tmp, target))
        stats.dump_stats(tmp)
        os.replace(tmp, target)
        artifacts.profiles[mode] = f"profiles/{mode}.prof"
    for mode, line_stats in run.line_stats.items():
        if line_stats is None:
            continue
        target = path / "lines" / f"{mode}.lprof"
        atomic_write_bytes(target, pickle.dumps(line_stats, protocol=pickle.HIGHEST_PROTOCOL))
        artifacts.lines[mode] = f"lines/{mode}.lprof"
    for mode, dat in run.memory_dat.items():
        if not dat:
            continue
        atomic_write_text(path / "memory" / f"{mode}.dat", dat)
        artifacts.memory[mode] = f"memory/{mode}.dat"
    for name, frame in run.frames.items():
        artifacts.frames[name] = _write_frame(path, name, frame)
    try:
        if traces is not None:
            artifacts.traces = traces(run, path)
    except Exception as exc:  # noqa: BLE001 - a trace bug must not lose the measurements
        warnings.warn(f"the Chrome traces could not be written ({type(exc).__name__}: {exc})",
                      ProfkitWarning, stacklevel=2)
    run.meta.artifacts = artifacts
    run.meta.format_version = FORMAT_VERSION
    run.meta.report_error = run.meta.analysis_error = None
    _write_run_json(run, path)


#: The largest file of each kind profkit reads from a run folder; a bigger one is refused
#: unread (a run folder from someone else may hold a 2 GB sparse file). profkit's own
#: files stay far below: a million tasks make a tasks frame of about 30 MB.
MAX_READ_BYTES = {".json": 256 * 2**20, ".dat": 256 * 2**20, ".parquet": 2**30, ".prof": 2**30}
#: run.json nests about 6 levels; a deeper file is not profkit's, and would exhaust the stack.
MAX_JSON_DEPTH = 64


def checked_file(run_dir: Path, rel: str) -> Path:
    """``run_dir / rel`` if it is a regular file inside ``run_dir`` no larger than its kind
    allows (:data:`MAX_READ_BYTES`), else StoreError; nothing is read."""
    file = run_dir / rel
    if run_dir.resolve() not in file.resolve().parents:
        raise StoreError(f"{file} leads outside the run folder (a symlink?): refused; "
                         "re-run profkit profile")
    try:
        info = file.stat()
    except OSError as exc:
        raise StoreError(f"cannot read {file}: {exc.strerror or exc}") from exc
    limit = MAX_READ_BYTES[file.suffix]
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(f"{file} is not a regular file: refused; re-run profkit profile")
    if info.st_size > limit:
        raise StoreError(f"{file} is {info.st_size / 2**20:,.0f} MiB, more than profkit reads "
                         f"from a run folder ({limit / 2**20:,.0f} MiB for a {file.suffix} "
                         "file): not a file profkit wrote; re-run profkit profile")
    return file


def read_capped(run_dir: Path, rel: str) -> bytes:
    """The bytes of :func:`checked_file`, read no further than its limit (a file may grow)."""
    file = checked_file(run_dir, rel)
    limit = MAX_READ_BYTES[file.suffix]
    with file.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise StoreError(f"{file} grew beyond {limit / 2**20:,.0f} MiB while profkit read it: "
                         "refused")
    return data


def _too_deep(value: object) -> bool:
    """True if ``value`` (parsed JSON) nests more than :data:`MAX_JSON_DEPTH` levels."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH + 1):
        level = [v for item in level if isinstance(item, (dict, list))
                 for v in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return True


def read_run_json(path: Path) -> tuple[RunMeta, Analysis]:
    """The checked ``run.json`` of a run folder: its metadata record and its analysis."""
    run_file = path / RUN_FILE
    if not path.is_dir():
        raise StoreError(f"{path} is not a folder: give the folder profkit profile wrote")
    if not run_file.is_file():
        if all((path / side / RUN_FILE).is_file() for side in ("A", "B")):
            a, b = (shlex.quote(str(path / side)) for side in ("A", "B"))
            raise StoreError(f"{path} is not a profkit run: it holds the two runs of profkit ab: "
                             f"give {a} or {b} (profkit compare {a} {b} compares them)")
        raise StoreError(f"{path} is not a profkit run: it has no {RUN_FILE}")
    try:
        data = json.loads(read_capped(path, RUN_FILE).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{run_file} is corrupt ({exc}): re-run profkit profile") from exc
    except RecursionError:
        data = None
    if data is None or _too_deep(data):
        raise StoreError(f"{run_file} nests deeper than a profkit run file ({MAX_JSON_DEPTH} "
                         "levels): not a file profkit wrote; re-run profkit profile")
    if not isinstance(data, dict) or "format_version" not in data:
        raise StoreError(f"{run_file} is not a profkit run file: it has no format_version")
    version = data["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise StoreError(f"{run_file} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise StoreError(f"{run_file} has format_version {version}, newer than this profkit "
                         f"reads ({FORMAT_VERSION}): upgrade profkit")
    if version < OLDEST_READABLE:
        raise StoreError(f"{run_file} has format_version {version}, from an older profkit whose "
                         "timings this one cannot compare: re-run profkit profile")
    for key in ("analysis", "status", "workload"):
        if not isinstance(data.get(key), dict):
            raise StoreError(f"{run_file} is missing its {key!r} section: re-run profkit profile")
    for key in ("artifacts", "modes", "errors", "options", "environment"):
        if not isinstance(data.setdefault(key, {}), dict):
            raise StoreError(f"{run_file}: its {key!r} section is a {type(data[key]).__name__}, "
                             "not an object: re-run profkit profile")
    for key in ("status", "errors"):
        if not all(isinstance(v, str) for v in data[key].values()):
            raise StoreError(f"{run_file}: its {key!r} section must map modes to strings: "
                             "re-run profkit profile")
    if not all(isinstance(v, dict) for v in data["modes"].values()):
        raise StoreError(f"{run_file}: its 'modes' section must map modes to objects: "
                         "re-run profkit profile")
    _check_fields(run_file, data)
    _check_artifacts(path, data["artifacts"])
    try:
        meta = RunMeta.from_json(data)
        analysis = _analysis(data["analysis"], version, meta.kind)
    except RecordError as exc:
        raise StoreError(f"{path / RUN_FILE}: {exc}: re-run profkit profile") from None
    return meta, analysis


def _analysis(data: dict[str, JSON], version: int, kind: str) -> Analysis:
    """run.json's analysis. An older format's is redone from its frames (:func:`profkit.run.load`),
    not read; a ``profkit run`` folder keeps its program facts, whose JSON has not changed."""
    if version == FORMAT_VERSION:
        return Analysis.from_json(data)
    if kind == "program":
        return Analysis.from_json({"program": data.get("program")})
    return Analysis()


#: Fields of run.json's free-form sections, options and environment (the rest of run.json is
#: checked by its record, :class:`profkit.record.RunMeta`): section -> field -> kind. A field
#: may be absent (older or newer writers); when present it must have its kind. "!" marks a
#: field that must be present, "?" one that may be null.
FIELD_KINDS: dict[str, dict[str, str]] = {
    "options": {**record_kinds(), "warmups": "int"},
    "environment": {"python": "str", "cpus_available": "?int", "cpus_total": "?int",
                    "memory_total_bytes": "?int", "start_method": "?str",
                    "others_cpu_during_run": "?num", "packages": "dict[str]"},
}


def _is_kind(value: object, kind: str) -> bool:
    def number(v: object) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def integer(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    scalar: dict[str, Callable[[object], bool]] = {
              "str": lambda v: isinstance(v, str), "int": integer, "num": number,
              "bool": lambda v: isinstance(v, bool), "dict": lambda v: isinstance(v, dict)}
    if "|" in kind:
        return any(_is_kind(value, k) for k in kind.split("|"))
    if kind in scalar:
        return bool(scalar[kind](value))
    inner = scalar[kind[kind.index("[") + 1:-1]]
    if kind.startswith("list["):
        return isinstance(value, list) and all(inner(v) for v in value)
    return isinstance(value, dict) and all(inner(v) for v in value.values())


def _check_fields(run_file: Path, data: dict[str, JSON]) -> None:
    """Each field a renderer reads has the kind profkit writes, or the file is refused."""
    for section, fields in FIELD_KINDS.items():
        for where, entry in [(section, data[section])]:
            assert isinstance(entry, dict)  # read_run_json checked the sections are objects
            for name, kind in fields.items():
                required, nullable, bare = kind.startswith("!"), kind.startswith("?"), kind.lstrip("!?")
                if name not in entry:
                    if required:
                        raise StoreError(f"{run_file}: {where}.{name} is missing: re-run "
                                         "profkit profile")
                    continue
                value = entry[name]
                if not ((nullable and value is None) or _is_kind(value, bare)):
                    raise StoreError(f"{run_file}: {where}.{name} should be {bare}, not "
                                     f"{type(value).__name__}: re-run profkit profile")


def _check_artifacts(path: Path, artifacts: dict[str, JSON]) -> None:
    """Every artifact path is a string naming a file of its kind inside the run folder."""
    for kind, suffix in ARTIFACT_KINDS.items():
        section = artifacts.setdefault(kind, {})
        if not isinstance(section, dict):
            raise StoreError(f"{path / RUN_FILE}: its artifacts {kind!r} section is a "
                             f"{type(section).__name__}, not an object: re-run profkit profile")
        for rel in section.values():
            artifact_path(path, rel, suffix=suffix)
    if "report" in artifacts:
        artifact_path(path, artifacts["report"], suffix=".html")


def load_profile(path: Path) -> pstats.Stats:
    """A saved ``.prof`` (marshal data, not a pickle) as pstats.Stats, or StoreError."""

    checked_file(path.parent, path.name)
    try:
        return pstats.Stats(str(path))
    except Exception as exc:  # noqa: BLE001 - marshal raises many kinds
        raise StoreError(f"{path} is not a cProfile stats file ({type(exc).__name__}): "
                         "re-run profkit profile to recreate it") from exc


def read_frame(path: Path, name: str, meta: RunMeta | None = None) -> pd.DataFrame:
    """One saved frame of the run in ``path``, checked for its documented columns and dtypes.

    ``meta`` is the run's checked metadata (from :func:`read_run_json`), if already read.
    """
    import pandas as pd

    meta = meta if meta is not None else read_run_json(path)[0]
    rel = meta.artifacts.frames.get(name, f"frames/{name}.parquet")
    file = artifact_path(path, rel, suffix=".parquet")
    if not file.is_file() and name in OPTIONAL_FRAMES:
        return empty(name)  # written by a profkit that did not make this frame yet
    if not file.is_file():
        raise StoreError(f"{path} is incomplete: {rel} is missing; re-run profkit profile")
    checked_file(path, rel)
    try:
        frame = pd.read_parquet(file)
    except Exception as exc:  # noqa: BLE001
        raise StoreError(f"{file} is corrupt ({type(exc).__name__}): re-run profkit profile") from exc
    added_later = [c for c in OPTIONAL_COLUMNS.get(name, ()) if c not in frame.columns]
    if added_later:  # saved by a profkit that did not measure these yet
        frame = frame.assign(**dict.fromkeys(added_later, float("nan")))
        frame = frame[[c for c in COLUMNS[name] if c in frame.columns]
                      + [c for c in frame.columns if c not in COLUMNS[name]]]
    missing = [c for c in COLUMNS[name] if c not in frame.columns]
    if missing:
        raise StoreError(f"{file} is not a profkit {name} frame: it lacks the column(s) "
                         f"{', '.join(missing)}; re-run profkit profile")
    try:
        return frame.astype({c: dtype for c, (dtype, _) in COLUMNS[name].items()})
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{file} is not a profkit {name} frame: a column has the wrong type "
                         f"({type(exc).__name__}); re-run profkit profile") from exc


@dataclass
class LoadedRun:
    """A saved run folder's parts: what :class:`profkit.run.Run` is made of."""

    meta: RunMeta
    analysis: Analysis
    frames: dict[str, pd.DataFrame]
    profiles: dict[str, pstats.Stats]
    memory_dat: dict[str, str]
    path: Path


def load_fields(directory: str | os.PathLike[str]) -> LoadedRun:
    """A saved run folder's parts.

    Nothing is unpickled: the ``.lprof`` files are left for ``python -m line_profiler``,
    and the line data comes from the ``lines`` frame. Every path is checked to stay
    inside the folder.
    """
    path = user_path(directory, "the run folder to load")
    meta, analysis = read_run_json(path)
    frames = {name: read_frame(path, name, meta) for name in FRAME_NAMES}
    profiles = {m: load_profile(artifact_path(path, rel, suffix=".prof"))
                for m, rel in meta.artifacts.profiles.items()}
    memory_dat = {}
    for mode, rel in meta.artifacts.memory.items():
        if not artifact_path(path, rel, suffix=".dat").is_file():
            continue  # the samples are extra: a run without them still opens
        with contextlib.suppress(UnicodeDecodeError):
            memory_dat[mode] = read_capped(path, rel).decode("utf-8")
    return LoadedRun(meta=meta, analysis=analysis, frames=frames, profiles=profiles,
                     memory_dat=memory_dat, path=path)
