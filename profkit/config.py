"""Defaults from ``[tool.profkit]`` in the nearest ``pyproject.toml``; flags win."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from profkit.errors import UsageError

KEYS = {
    "modes": (str, list),
    "workers": (int,),
    "repeat": (int, str),
    "precision": (int, float, str),
    "max_rounds": (int,),
    "max_time": (int, float),
    "chunksize": (int,),
    "out": (str,),
    "workloads": (list,),
    "lines": (list,),
    "memory_lines": (list, str),
    "memory_line_budget": (int, float),
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


def load_config(start: Path | None = None) -> dict[str, Any]:
    """The ``[tool.profkit]`` table, checked key by key; {} when there is none."""
    path = find_pyproject(start)
    if path is None:
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    table = data.get("tool", {}).get("profkit", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.profkit] must be a table")
    for key, value in table.items():
        if key not in KEYS:
            raise UsageError(f"{path}: unknown key {key!r} in [tool.profkit]; known keys: "
                             f"{', '.join(KEYS)}")
        if not isinstance(value, KEYS[key]) or isinstance(value, bool):
            raise UsageError(f"{path}: [tool.profkit] {key} has the wrong type "
                             f"({type(value).__name__})")
    # .py files in ``workloads`` are relative to the pyproject.toml, not to the working folder
    table["workloads"] = [str(path.parent / w) if w.endswith(".py") else w
                          for w in table.get("workloads", []) if isinstance(w, str)]
    # ``out`` too: reports land beside the project, wherever profkit is run from
    if isinstance(table.get("out"), str):
        table["out"] = str(path.parent / table["out"])
    if isinstance(table.get("modes"), list):
        table["modes"] = ",".join(table["modes"])
    table["_path"] = str(path)
    return table
