"""Defaults from ``[tool.profkit]`` in the nearest ``pyproject.toml``; flags win.

Also the limits every entry point checks (flags, the config and the API alike).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from profkit.errors import UsageError
from profkit.executors.registry import (
    MAX_WORKERS_PER_CPU,
    START_METHODS,
    available_cpus,
    max_workers,
    parse_modes,
    parse_positive_int,
)

#: The longest ``--timeout`` accepted, in seconds (a week); larger ones overflow the clocks.
MAX_TIMEOUT_S = 7 * 24 * 3600.0
START_METHOD_CHOICES = START_METHODS


def check_workers(counts: Iterable[int], what: str) -> None:
    """Refuse a pool too big to start; the message states the limit."""
    limit = max_workers()
    for n in counts:
        if n > limit:
            raise UsageError(f"{what}: {n} workers are too many, at most {limit} "
                             f"({MAX_WORKERS_PER_CPU} per CPU, {available_cpus()} CPUs): "
                             "choose a smaller count")


def check_seconds(value: object, what: str, limit: float = MAX_TIMEOUT_S) -> float:
    """A finite number of seconds in (0, limit], or a UsageError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UsageError(f"{what} must be a number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"{what} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds):
        raise UsageError(f"{what} must be a finite number of seconds, got {value}: leave it "
                         "off for no limit")
    if not seconds > 0:
        raise UsageError(f"{what} must be > 0, got {value}")
    if seconds > limit:
        raise UsageError(f"{what} must be at most {limit:g} seconds, got {value}")
    return seconds


def parse_repeat(value: int | str | None, what: str = "--repeat") -> int | None:
    """``auto`` (or None) -> None; else a whole number of rounds >= 1."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    return parse_positive_int(value, what, " or auto")


def parse_chunksize(value: int | str | None,
                    what: str = "--chunksize") -> tuple[int | None, bool]:
    """``auto`` -> (None, True); N -> (N, False); None -> the pools' own default."""
    if value is None:
        return None, False
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None, True
    return parse_positive_int(value, what, " or auto"), False


KEYS = {
    "modes": (str, list),
    "workers": (int,),
    "repeat": (int, str),
    "precision": (int, float, str),
    "max_rounds": (int,),
    "max_time": (int, float),
    "chunksize": (int, str),  # N or "auto"
    "gc": (str,),
    "out": (str,),
    "workloads": (list,),
    "lines": (list,),
    "memory_lines": (list, str),
    "memory_line_budget": (int, float),
    "profile_budget": (int, float, str),  # seconds, "auto" or "all"
    "line_budget": (int, float, str),  # seconds, "auto" or "all"
    "scheduler": (str,),
    "start_method": (str,),
    "timeout": (int, float),
}


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml from ``start`` (the working folder) upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_value(path: Path, key: str, value: Any) -> None:
    """Refuse a value of the right type that no run could use, before any work."""
    where = f"{path}: [tool.profkit] {key}"
    if key in ("modes", "workloads", "lines") and isinstance(value, list) and not _is_str_list(value):
        raise UsageError(f"{where} must be a list of strings, got {value!r}")
    if key == "workers" and value < 1:
        raise UsageError(f"{where} must be >= 1, got {value}")
    if key == "repeat":
        parse_repeat(value, where)
    if key == "chunksize":
        parse_chunksize(value, where)
    if key == "modes":
        try:
            parse_modes(value, 1)
        except UsageError as exc:  # the same check as --modes, naming where the value is
            raise UsageError(f"{where}: {exc}") from None
    if key == "workers":
        check_workers([value], where)
    if key == "timeout":
        check_seconds(value, where)
    if key == "start_method" and value not in START_METHOD_CHOICES:
        raise UsageError(f"{where} must be one of {', '.join(START_METHOD_CHOICES)}, got {value!r}")
    if key in ("out", "scheduler") and isinstance(value, str) and not value.strip():
        raise UsageError(f"{where} must not be empty")


def load_config(start: Path | None = None) -> dict[str, Any]:
    """The ``[tool.profkit]`` table, checked key by key; {} when there is none."""
    path = find_pyproject(start)
    if path is None:
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {path}: it is not UTF-8 text (byte {exc.start}): save it "
                         "as UTF-8") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"cannot read {path}: {exc}: fix the TOML") from exc
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise UsageError(f"{path}: 'tool' must be a table, got {type(tool).__name__}: write "
                         "[tool.profkit] as a table")
    table = tool.get("profkit", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.profkit] must be a table")
    for key, value in table.items():
        if key not in KEYS:
            raise UsageError(f"{path}: unknown key {key!r} in [tool.profkit]; known keys: "
                             f"{', '.join(KEYS)}")
        if not isinstance(value, KEYS[key]) or isinstance(value, bool):
            raise UsageError(f"{path}: [tool.profkit] {key} has the wrong type "
                             f"({type(value).__name__})")
        _check_value(path, key, value)
    # .py files in ``workloads`` are relative to the pyproject.toml, not to the working folder
    table["workloads"] = [str(path.parent / w) if w.endswith(".py") else w
                          for w in table.get("workloads", [])]
    # ``out`` too: reports land beside the project, wherever profkit is run from
    if isinstance(table.get("out"), str):
        table["out"] = str(path.parent / table["out"])
    if isinstance(table.get("modes"), list):
        table["modes"] = ",".join(table["modes"])
    table["_path"] = str(path)
    return table
