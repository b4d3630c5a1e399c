"""``[tool.profkit]`` in the nearest ``pyproject.toml``: defaults for the options; flags win.

Its keys are the options' public names (:mod:`profkit.options`), plus ``out`` and
``workloads``; each value is checked by the option's own check, naming the file and key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from profkit.errors import UsageError
from profkit.options import build_options, config_types

#: The keys that are not options of a run: where reports go, and modules of workloads.
FILE_KEYS: dict[str, tuple[type, ...]] = {"out": (str,), "workloads": (list,)}
KEYS = {**config_types(), **FILE_KEYS}


@dataclass
class Config:
    """The checked ``[tool.profkit]`` table; empty when there is none."""

    path: Path | None = None
    #: Option values by public name, as written (:func:`profkit.options.build_options` reads them).
    options: dict[str, object] = field(default_factory=dict)
    #: Workload modules and files, the files made relative to the pyproject.toml.
    workloads: list[str] = field(default_factory=list)
    #: The reports folder, relative to the pyproject.toml.
    out: str | None = None

    def where(self) -> dict[str, str]:
        """How a message names each option value: the file and the key."""
        return {key: f"{self.path}: [tool.profkit] {key}" for key in self.options}


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml from ``start`` (the working folder) upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path | None = None) -> Config:
    """The ``[tool.profkit]`` table, checked key by key before any work."""
    path = find_pyproject(start)
    if path is None:
        return Config()
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
    workloads = table.get("workloads", [])
    if not all(isinstance(w, str) for w in workloads):
        raise UsageError(f"{path}: [tool.profkit] workloads must be a list of strings, "
                         f"got {workloads!r}")
    out = table.get("out")
    if isinstance(out, str) and not out.strip():
        raise UsageError(f"{path}: [tool.profkit] out must not be empty")
    config = Config(
        path=path,
        options={k: v for k, v in table.items() if k not in FILE_KEYS},
        # files named here are relative to the pyproject.toml, not to the working folder, and
        # so are the reports: they land beside the project, wherever profkit is run from
        workloads=[str(path.parent / w) if w.endswith(".py") else w for w in workloads],
        out=None if out is None else str(path.parent / out),
    )
    build_options(config.options, where=config.where())  # refused now, before any work
    return config
