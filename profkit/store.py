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
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profkit.errors import RunDirError, StoreError
from profkit.frames import FRAME_NAMES, OPTIONAL_FRAMES, empty

if TYPE_CHECKING:
    import pandas as pd

FORMAT_VERSION = 2
RUN_FILE = "run.json"
REPORT_FILE = "index.html"


@dataclass
class Run:
    """A finished (or interrupted) run: metadata, analysis, frames and raw stats.

    The frames are attributes too: ``run.timings``, ``run.tasks``,
    ``run.functions``, ``run.lines``, ``run.memory``.
    """

    meta: dict[str, Any]
    analysis: dict[str, Any]
    frames: dict[str, pd.DataFrame]
    profiles: dict[str, Any] = field(default_factory=dict)
    line_stats: dict[str, Any] = field(default_factory=dict)
    #: mode -> the memory samples as mprof ``.dat`` text.
    memory_dat: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def __getattr__(self, name: str) -> Any:
        if name in FRAME_NAMES and "frames" in self.__dict__:
            return self.__dict__["frames"][name]
        raise AttributeError(name)

    @property
    def complete(self) -> bool:
        return not self.meta.get("interrupted", False)

    @property
    def failed_modes(self) -> list[str]:
        return [m for m, s in self.meta.get("status", {}).items() if s not in ("ok", "skipped")]

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the run (stats, frames, run.json, report) to a new folder; return it."""
        return save(self, directory)

    def _repr_html_(self) -> str:
        """Jupyter: the summary, speedup chart and top bottlenecks in an isolated iframe."""
        from profkit.render.notebook import repr_html

        return repr_html(self)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Render the report to ``path`` (atomically) and return the path."""
        from profkit.render import render

        target = Path(path)
        atomic_write_text(target, render(self, "html"))
        return target


# -- atomic writes --------------------------------------------------------


@contextlib.contextmanager
def _atomic(path: Path, mode: str) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as f:
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with _atomic(path, "wb") as f:
        f.write(data)


# -- run directory --------------------------------------------------------


def prepare_run_dir(directory: str | os.PathLike[str]) -> Path:
    """Create a new, empty run folder; never reuse one that exists."""
    path = Path(directory)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise RunDirError(
            f"output folder {path} already exists and is not empty: "
            "choose another --out, or leave --out off for a fresh timestamped folder"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".profkit-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(f"cannot write to output folder {path}: {exc.strerror or exc}: "
                          "choose a writable --out") from exc
    return path


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value: Any) -> Any:
    """NaN and infinity are not JSON: store them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _clean(value.item())
    return value


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(_clean(data), indent=2, default=_json_default, allow_nan=False)


def save(run: Run, directory: str | os.PathLike[str]) -> Path:
    """Write stats, frames, report and last ``run.json`` (its presence marks a saved run)."""
    path = prepare_run_dir(directory)
    artifacts: dict[str, Any] = {"report": REPORT_FILE, "profiles": {}, "lines": {}, "frames": {},
                                 "memory": {}}
    for mode, stats in run.profiles.items():
        if stats is None:
            continue
        target = path / "profiles" / f"{mode}.prof"
        target.parent.mkdir(exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        stats.dump_stats(tmp)
        os.replace(tmp, target)
        artifacts["profiles"][mode] = f"profiles/{mode}.prof"
    for mode, line_stats in run.line_stats.items():
        if line_stats is None:
            continue
        target = path / "lines" / f"{mode}.lprof"
        atomic_write_bytes(target, pickle.dumps(line_stats, protocol=pickle.HIGHEST_PROTOCOL))
        artifacts["lines"][mode] = f"lines/{mode}.lprof"
    for mode, dat in run.memory_dat.items():
        if not dat:
            continue
        atomic_write_text(path / "memory" / f"{mode}.dat", dat)
        artifacts["memory"][mode] = f"memory/{mode}.dat"
    for name, frame in run.frames.items():
        target = path / "frames" / f"{name}.parquet"
        target.parent.mkdir(exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, target)
        artifacts["frames"][name] = f"frames/{name}.parquet"
    try:
        from profkit.render.trace import write_traces

        artifacts["traces"] = write_traces(run, path)
    except Exception as exc:  # noqa: BLE001 - a trace bug must not lose the measurements
        warnings.warn(f"the Chrome traces could not be written ({type(exc).__name__}: {exc})", stacklevel=2)
    run.meta["artifacts"] = artifacts
    run.meta["format_version"] = FORMAT_VERSION
    run.path = path
    try:
        run.to_html(path / REPORT_FILE)
    except Exception as exc:  # noqa: BLE001 - a renderer bug must not lose the measurements
        run.meta["report_error"] = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"the report could not be rendered ({run.meta['report_error']}); the data "
                      f"is saved: re-render it with `profkit report {path}`", stacklevel=2)
    atomic_write_text(path / RUN_FILE, to_json({**run.meta, "analysis": run.analysis}))
    return path


def read_run_json(path: Path) -> dict[str, Any]:
    """The parsed ``run.json`` of a run folder, checked for a version we can read."""
    run_file = path / RUN_FILE
    if not path.is_dir():
        raise StoreError(f"{path} is not a folder: give the folder profkit profile wrote")
    if not run_file.is_file():
        raise StoreError(f"{path} is not a profkit run: it has no {RUN_FILE}")
    try:
        data = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{run_file} is corrupt ({exc}): re-run profkit profile") from exc
    if not isinstance(data, dict) or "format_version" not in data:
        raise StoreError(f"{run_file} is not a profkit run file: it has no format_version")
    version = data["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise StoreError(f"{run_file} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise StoreError(f"{run_file} has format_version {version}, newer than this profkit "
                         f"reads ({FORMAT_VERSION}): upgrade profkit")
    if version < FORMAT_VERSION:
        raise StoreError(f"{run_file} has format_version {version}, from an older profkit whose "
                         "timings this one cannot compare: re-run profkit profile")
    for key, kind in (("analysis", dict), ("status", dict), ("workload", dict)):
        if not isinstance(data.get(key), kind):
            raise StoreError(f"{run_file} is missing its {key!r} section: re-run profkit profile")
    return data


def load_profile(path: Path) -> Any:
    """A saved ``.prof`` as pstats.Stats, or StoreError naming the file."""
    import pstats

    try:
        return pstats.Stats(str(path))
    except Exception as exc:  # noqa: BLE001 - marshal raises many kinds
        raise StoreError(f"{path} is not a cProfile stats file ({type(exc).__name__}): "
                         "re-run profkit profile to recreate it") from exc


def load_line_stats(path: Path) -> Any:
    """A saved ``.lprof`` as line_profiler LineStats, or StoreError naming the file."""
    import line_profiler

    try:
        stats = line_profiler.load_stats(str(path))
    except Exception as exc:  # noqa: BLE001
        raise StoreError(f"{path} is not a line_profiler stats file ({type(exc).__name__}): "
                         "re-run profkit profile to recreate it") from exc
    if not hasattr(stats, "timings"):
        raise StoreError(f"{path} is not a line_profiler stats file")
    return stats


def load(directory: str | os.PathLike[str]) -> Run:
    """Load a saved run folder: frames, metadata, analysis and raw stats."""
    import pandas as pd

    path = Path(directory)
    data = read_run_json(path)
    analysis = data.pop("analysis")
    frames = {}
    for name in FRAME_NAMES:
        file = path / "frames" / f"{name}.parquet"
        if not file.is_file() and name in OPTIONAL_FRAMES:
            frames[name] = empty(name)
            continue
        if not file.is_file():
            raise StoreError(f"{path} is incomplete: frames/{name}.parquet is missing")
        try:
            frames[name] = pd.read_parquet(file)
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"{file} is corrupt ({type(exc).__name__}): re-run profkit profile") from exc
    artifacts = data.get("artifacts", {})
    profiles = {m: load_profile(path / rel) for m, rel in artifacts.get("profiles", {}).items()}
    line_stats = {m: load_line_stats(path / rel) for m, rel in artifacts.get("lines", {}).items()}
    memory_dat = {}
    for mode, rel in artifacts.get("memory", {}).items():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            memory_dat[mode] = (path / rel).read_text(encoding="utf-8")
    return Run(meta=data, analysis=analysis, frames=frames, profiles=profiles,
               line_stats=line_stats, memory_dat=memory_dat, path=path)
