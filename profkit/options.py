"""One :class:`Options`: every setting of a run, with its flag, its config key and its check.

Each field carries an :class:`OptionSpec`: its public name (the API keyword and the
``[tool.profkit]`` key; the flag is the name with ``-`` for ``_``), its help, the TOML
types it takes and the check that turns a given value into the field's value. The CLI's
flags (:func:`add_flags`), the config's keys (:func:`config_types`) and run.json's
``options`` section (:meth:`Options.to_json`) are read from the fields, and
:func:`build_options` is the one place a given value is checked.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict, TypeVar, overload

from profkit.errors import UsageError
from profkit.executors.registry import (
    START_METHODS,
    available_cpus,
    default_start_method,
    parse_modes,
    parse_positive_int,
    parse_workers,
)
from profkit.model import (
    ALL,
    AUTO,
    DEFAULT_LINE_BUDGET_S,
    DEFAULT_MAX_ROUNDS,
    DEFAULT_MAX_ROUNDS_S,
    DEFAULT_MEMORY_INTERVAL_S,
    DEFAULT_MEMORY_LINE_BUDGET_S,
    DEFAULT_MIN_ROUNDS,
    DEFAULT_PROFILE_BUDGET_S,
    DEFAULT_SPOILED_CORES,
    JSON,
    ModeSpec,
    PassBudget,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from profkit.workloads.model import Workload

DEFAULT_MODES = "sequential,threads,processes"
#: The longest ``--timeout`` accepted, in seconds (a week); larger ones overflow the clocks.
MAX_TIMEOUT_S = 7 * 24 * 3600.0
#: Warm-up maps per mode before the timed rounds (the engine runs one).
WARMUPS = 1


# -- the checks: each turns a given value into a field's value, or raises one UsageError ------

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


def parse_seconds(value: object, what: str) -> float | None:
    """:func:`check_seconds`, or None for None."""
    return None if value is None else check_seconds(value, what)


def _is_auto(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() == AUTO


def parse_repeat(value: object, what: str = "--repeat") -> int | None:
    """``auto`` (or None) -> None; else a whole number of rounds >= 1."""
    if value is None or _is_auto(value):
        return None
    return parse_positive_int(value, what, " or auto")


def parse_chunksize(value: object, what: str = "--chunksize") -> tuple[int | None, bool]:
    """``auto`` -> (None, True); N -> (N, False); None -> the pools' own default."""
    if value is None:
        return None, False
    if _is_auto(value):
        return None, True
    return parse_positive_int(value, what, " or auto"), False


def parse_fraction(value: object, what: str) -> float:
    """A precision such as 0.03, '3%' or '0.03' -> 0.03; strictly between 0 and 1."""
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise UsageError(f"{what} must be a fraction such as 0.03 or a percentage such as 3%, "
                         f"got {value!r}") from None
    if not 0 < number < 1:
        raise UsageError(f"{what} must be above 0 and below 1 (100%), got {value!r}")
    return number


def parse_budget(value: object, what: str) -> PassBudget:
    """``--profile-budget`` / ``--line-budget``: seconds per profiling worker, ``all`` or ``auto``."""
    if value is None:
        return AUTO
    if isinstance(value, str) and value.strip().lower() in (ALL, AUTO):
        return ALL if value.strip().lower() == ALL else AUTO
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            raise UsageError(f"{what} must be a number of seconds, 'auto' or 'all', "
                             f"got {value!r}") from None
    return check_seconds(value, what)


def parse_gc(value: object, what: str = "--gc") -> bool:
    """``on`` -> True (GC on while timed), ``off`` -> False."""
    text = str(value).strip().lower()
    if text in ("on", "true"):
        return True
    if text in ("off", "false"):
        return False
    raise UsageError(f"{what} must be 'on' or 'off', got {value!r}")


def parse_names(names: object, what: str) -> tuple[str, ...]:
    """Function names from a list or a comma-separated string, each once."""
    parts = names.split(",") if isinstance(names, str) else names
    if not isinstance(parts, (list, tuple)) or not all(isinstance(n, str) for n in parts):
        raise UsageError(f"{what} must be function names (a list of strings, or one string with "
                         f"commas), got {names!r}")
    return tuple(dict.fromkeys(n.strip() for n in parts if n.strip()))


def check_line_names(wl: Workload, names: Sequence[str], what: str,
                     tracer: str = "line_profiler") -> None:
    """Each name resolves to a Python function from the task's module, before any mode runs."""
    from profkit.collectors.worker import resolve_line_functions

    for name in names:
        try:
            found = resolve_line_functions(wl.task, (name,), with_task=False)
        except (ImportError, AttributeError, ValueError) as exc:
            raise UsageError(f"{what} {name}: no such function ({type(exc).__name__}: "
                             f"{_missing(exc)}); give a name in the task's module or "
                             "module:qualname") from None
        if not all(hasattr(f, "__code__") for f in found):
            raise UsageError(f"{what} {name}: not a Python function, so {tracer} "
                             "cannot trace its lines")


def _missing(exc: Exception) -> str:
    """The lookup error, with a file target's module named by its file, not its import name."""
    import types

    from profkit.workloads.registry import FILE_MODULES

    owner = getattr(exc, "obj", None)
    if not (isinstance(exc, AttributeError) and isinstance(owner, types.ModuleType)
            and owner.__name__ in FILE_MODULES):
        return str(exc)
    return f"{FILE_MODULES[owner.__name__]} has no attribute {exc.name!r}"


T = TypeVar("T")


# -- the field specs ----------------------------------------------------------------------

#: A check: the given value, the name of where it came from (for the message), and the
#: fields above this one, already checked (``modes`` reads ``workers``).
Check = Callable[[object, str, "Options"], object]
_UNSET = object()


@dataclass(frozen=True)
class OptionSpec:
    """What makes a field of :class:`Options` a setting a user gives."""

    #: The API keyword and the ``[tool.profkit]`` key; the flag is ``--`` + it with ``-``.
    key: str | None
    help: str = ""
    check: Check | None = None
    #: TOML types the key takes in ``[tool.profkit]``; () when it is not a config key.
    config: tuple[type, ...] = ()
    #: Whether the CLI has a flag for it (the API-only settings have none).
    flag: bool = True
    metavar: str | None = None
    #: The value used when none is given, before the check (default: the field's default).
    given_default: object = _UNSET
    #: The field's name in run.json's ``options`` section; None when it is not recorded.
    record: str | None = None
    #: How run.json writes it, from the whole Options (default: the field's value).
    to_json: Callable[[Options], JSON] | None = None
    #: The JSON kind the store checks on load (see ``store.FIELD_KINDS``); None for none.
    kind: str | None = None

    @property
    def flag_name(self) -> str:
        return "--" + (self.key or "").replace("_", "-")

    def name(self) -> str:
        """How a message names a value given without a place: the flag, or the keyword."""
        return self.flag_name if self.flag else str(self.key)


class _SpecKey(TypedDict):
    key: str | None


class SpecKeywords(_SpecKey, total=False):
    """:class:`OptionSpec`'s fields, as :func:`option` takes them."""

    help: str
    check: Check | None
    config: tuple[type, ...]
    flag: bool
    metavar: str | None
    given_default: object
    record: str | None
    to_json: Callable[[Options], JSON] | None
    kind: str | None


@overload
def option(default: T, **spec: Unpack[SpecKeywords]) -> T: ...


@overload
def option(*, factory: Callable[[], T], **spec: Unpack[SpecKeywords]) -> T: ...


def option(default: object = dataclasses.MISSING, *, factory: Callable[[], object] | None = None,
           **spec: Unpack[SpecKeywords]) -> object:
    """A dataclass field with its :class:`OptionSpec` attached (typed as the field's own type)."""
    metadata = {"option": OptionSpec(**spec)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _workers(value: object, what: str, options: Options) -> int:
    return available_cpus() if value is None else parse_workers(value, what)


def _modes(value: object, what: str, options: Options) -> list[ModeSpec]:
    return parse_modes(value, options.workers)


def _max_rounds(value: object, what: str, options: Options) -> int:
    rounds = parse_positive_int(value, what)
    options.min_rounds = min(options.min_rounds, rounds)
    return rounds


def _chunksize(value: object, what: str, options: Options) -> int | None:
    size, options.chunksize_auto = parse_chunksize(value, what)
    return size


def _start_method(value: object, what: str, options: Options) -> str:
    if value is None:
        return default_start_method()
    if value not in START_METHODS:
        raise UsageError(f"{what} must be one of {', '.join(START_METHODS)}, got {value!r}")
    return str(value)


def _scheduler(value: object, what: str, options: Options) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{what} must be a scheduler address tcp://HOST:PORT, got {value!r}")
    if any(s.kind == "dask" for s in options.modes):
        from profkit.executors.dask.addresses import normalize_address

        return normalize_address(value)
    return value


def _bool(value: object, what: str, options: Options) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{what} must be True or False, got {value!r}")
    return value


def _seed(value: object, what: str, options: Options) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise UsageError(f"{what} must be a whole number, or None, got {value!r}")
    return value


_NAMES = " (in the task's module) or module:qualname"
_PASS_ITEMS = ("whole: auto (every item when cheap, else a sample from across the list that "
               "grows with the work), all, or seconds")


@dataclass
class Options:
    """How to run: modes, rounds, what the collectors cover; checked by :func:`build_options`.

    ``repeat=None`` is auto: rounds go on until the recommendation is settled (with
    ``precision``: until every speedup's 95% interval is within it), or a cap is reached.
    Fields without a ``key`` are the engine's own settings, not given by users.
    """

    workers: int = option(
        factory=available_cpus, key="workers", config=(int,), check=_workers, given_default=None,
        help="workers per pool (default: the CPUs this process may use)")
    modes: list[ModeSpec] = option(
        factory=list, key="modes", config=(str, list), check=_modes, given_default=DEFAULT_MODES,
        record="modes", kind="list[str]", to_json=lambda o: [str(m) for m in o.modes],
        help="comma-separated: sequential, threads[:N], processes[:N], pool[:N] "
        "(multiprocessing.Pool), dask[:N] (default: sequential,threads,processes)")
    repeat: int | None = option(
        None, key="repeat", config=(int, str), check=lambda v, what, o: parse_repeat(v, what),
        record="repeat", kind="int|str", to_json=lambda o: AUTO if o.repeat is None else o.repeat,
        help="interleaved timing rounds, each timing one bare map per mode in a random order: "
        "N, or auto to go on until the recommendation is settled, or with --precision until every "
        "speedup is that precise (default: auto)")
    precision: float | None = option(
        None, key="precision", config=(int, float, str), record="precision",
        check=lambda v, what, o: None if v is None else parse_fraction(v, what), kind="?num",
        help="for --repeat auto: go on until the 95%% interval of every speedup is within this, "
        "as a fraction or a percentage (default: stop once the recommendation is settled; "
        "profkit ab: 3%%)")
    min_rounds: int = option(DEFAULT_MIN_ROUNDS, key=None, record="min_rounds")
    max_rounds: int = option(
        DEFAULT_MAX_ROUNDS, key="max_rounds", config=(int,), check=_max_rounds,
        record="max_rounds", help=f"for --repeat auto: at most this many rounds "
        f"(default: {DEFAULT_MAX_ROUNDS})")
    max_rounds_s: float = option(
        DEFAULT_MAX_ROUNDS_S, key="max_time", config=(int, float), record="max_rounds_s",
        check=lambda v, what, o: parse_seconds(v, what) or math.inf,
        help="for --repeat auto: start no new round after this many seconds of rounds, once "
        "there are 3 (default: 4; profkit ab: 10)")
    spoiled_cores: float = option(DEFAULT_SPOILED_CORES, key=None, record="spoiled_cores")
    gc_timed: bool = option(
        False, key="gc", config=(str,), check=lambda v, what, o: parse_gc(v, what),
        metavar="{off,on}", record="gc", to_json=lambda o: "on" if o.gc_timed else "off",
        help="garbage collection while the maps are timed, in every mode: off, as timeit does, "
        "or on, as a plain run (default: off); GC's own share is measured either way")
    chunksize: int | None = option(
        None, key="chunksize", config=(int, str), check=_chunksize, record="chunksize",
        kind="?int|str", to_json=lambda o: AUTO if o.chunksize_auto else o.chunksize,
        help="items handed to a worker at a time, for the modes that hand out chunks: N, or "
        "auto (four chunks per worker for tasks under 1 ms, else 1); processes default to 1, "
        "pool to Pool.map's own choice")
    #: ``--chunksize auto``: the engine picks it from the item times (tiny tasks get chunks)
    chunksize_auto: bool = option(False, key=None)
    line_names: tuple[str, ...] = option(
        (), key="lines", config=(list, str), check=lambda v, what, o: parse_names(v, what),
        record="line_functions", kind="list[str]", to_json=lambda o: list(o.line_names),
        help="comma-separated extra functions for line_profiler: name" + _NAMES)
    line_budget_s: PassBudget = option(
        DEFAULT_LINE_BUDGET_S, key="line_budget", config=(int, float, str),
        check=lambda v, what, o: parse_budget(v, what), record="line_budget_s",
        kind="!num|str", help=f"which items the line_profiler pass traces, always {_PASS_ITEMS} "
        "of traced time (about 9x the plain time) per tracing worker (default: auto)")
    profile_budget_s: PassBudget = option(
        DEFAULT_PROFILE_BUDGET_S, key="profile_budget", config=(int, float, str),
        check=lambda v, what, o: parse_budget(v, what), record="profile_budget_s",
        help=f"which items the cProfile pass profiles, always {_PASS_ITEMS} per profiling "
        "worker (default: auto)")
    memory_line_names: tuple[str, ...] = option(
        (), key="memory_lines", config=(list, str), check=lambda v, what, o: parse_names(v, what),
        record="memory_line_functions", to_json=lambda o: list(o.memory_line_names),
        help="comma-separated functions for memory_profiler's line profiler, run inside the "
        f"workers: name{_NAMES}; name a function that allocates, since every traced line reads "
        "the RSS")
    memory_line_budget_s: float = option(
        DEFAULT_MEMORY_LINE_BUDGET_S, key="memory_line_budget", config=(int, float),
        check=lambda v, what, o: parse_seconds(v, what) or DEFAULT_MEMORY_LINE_BUDGET_S,
        record="memory_line_budget_s",
        help="seconds the memory_profiler pass may take per mode: the cheapest items that fit; "
        f"none if even one does not (default: {DEFAULT_MEMORY_LINE_BUDGET_S:g})")
    memory_interval_s: float = option(DEFAULT_MEMORY_INTERVAL_S, key=None,
                                      record="memory_interval_s")
    start_method: str = option(
        factory=default_start_method, key="start_method", config=(str,), check=_start_method,
        given_default=None, metavar="{" + ",".join(START_METHODS) + "}", record="start_method",
        kind="?str", help="multiprocessing start method (default: the interpreter's, fork on Linux "
        "up to 3.13, forkserver from 3.14, spawn elsewhere)")
    timeout_s: float | None = option(
        None, key="timeout", config=(int, float), check=lambda v, what, o: parse_seconds(v, what),
        record="timeout_s", kind="?num", help="seconds each mode may take before it is stopped")
    sweep: bool = option(
        False, key="sweep", check=_bool, record="sweep", kind="bool",
        help="also time processes and threads at 1..CPUs workers and 2x CPUs")
    scheduler: str | None = option(
        None, key="scheduler", config=(str,), check=_scheduler, record="scheduler", kind="?str",
        help="Dask scheduler address tcp://HOST:PORT for the dask mode (default: an embedded "
        "local cluster)")
    seed: int | None = option(None, key="seed", flag=False, check=_seed,
                              help="the seed of the rounds' random order (API only)")
    collectors: tuple[str, ...] = option(("timing", "tasks", "cprofile", "lines", "memory"),
                                         key=None)

    def to_json(self) -> dict[str, JSON]:
        """run.json's ``options`` section."""
        out: dict[str, JSON] = {}
        for f, spec in SPECS:
            if spec.record is not None:
                out[spec.record] = spec.to_json(self) if spec.to_json else getattr(self, f.name)
        out["warmups"] = WARMUPS
        return out


Spec = tuple[dataclasses.Field[object], OptionSpec]
SPECS: tuple[Spec, ...] = tuple(
    (f, f.metadata["option"]) for f in dataclasses.fields(Options))
#: The settings a user gives, by public name, in the order they are checked.
GIVEN: dict[str, Spec] = {
    spec.key: (f, spec) for f, spec in SPECS if spec.key is not None}


def config_types() -> dict[str, tuple[type, ...]]:
    """The ``[tool.profkit]`` keys that set an option, with the TOML types each takes."""
    return {key: spec.config for key, (_, spec) in GIVEN.items() if spec.config}


def record_kinds() -> dict[str, str]:
    """The JSON kinds of run.json's ``options`` fields that the store checks on load."""
    return {spec.record: spec.kind for _, spec in SPECS if spec.record and spec.kind}


def add_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for every option that has one; each is None (or False) when not given."""
    for _, spec in GIVEN.values():
        if not spec.flag:
            continue
        if spec.check is _bool:
            parser.add_argument(spec.flag_name, action="store_true", help=spec.help)
        else:
            parser.add_argument(spec.flag_name, metavar=spec.metavar, help=spec.help)


def given_flags(args: argparse.Namespace) -> dict[str, object]:
    """The options the command line gave, by public name (a flag left off is not given)."""
    given = {}
    for key, (_, spec) in GIVEN.items():
        value = getattr(args, key, None) if spec.flag else None
        if value is not None and value is not False:
            given[key] = value
    return given


def build_options(given: Mapping[str, object] | None = None, *,
                  where: Mapping[str, str] | None = None,
                  defaults: Mapping[str, object] | None = None) -> Options:
    """Options from the values given by public name; each value is checked here, once.

    A message names a value by ``where[key]`` (a ``[tool.profkit]`` key in a file,
    prefixed to the message when the check does not name it), else by its flag, as
    the API's keywords are. ``defaults`` replace the usual value of options not given
    (``profkit ab`` has its own ``max_time``).
    """
    given, where, defaults = given or {}, where or {}, defaults or {}
    options = Options()
    for key, (f, spec) in GIVEN.items():
        if key in given:
            value = given[key]
        elif key in defaults:
            value = defaults[key]
        elif spec.given_default is not _UNSET:
            value = spec.given_default
        else:
            value = getattr(options, f.name)
        what = where.get(key, spec.name())
        assert spec.check is not None
        try:
            setattr(options, f.name, spec.check(value, what, options))
        except UsageError as exc:
            if key in where and not str(exc).startswith(what):
                raise UsageError(f"{what}: {exc}") from None
            raise
    if "precision" in given and "precision" not in where and options.repeat is not None:
        # a precision asked for here, that a fixed round count would silently ignore
        repeat = where.get("repeat", GIVEN["repeat"][1].name())
        raise UsageError(f"{GIVEN['precision'][1].name()} sets when --repeat auto stops, but "
                         f"{repeat} asks for exactly {options.repeat} rounds: drop one of them")
    return options


def for_workload(options: Options, wl: Workload) -> Options:
    """``options`` for a run of ``wl``: its line-profiled functions resolved against its task
    (its own come first), and dask checked if a mode needs it, before any mode runs."""
    check_line_names(wl, options.line_names, GIVEN["lines"][1].flag_name)
    check_line_names(wl, options.memory_line_names, GIVEN["memory_lines"][1].flag_name,
                     "memory_profiler")
    own = [f"{f.__module__}:{f.__qualname__}" for f in wl.line_functions]
    if any(s.kind == "dask" for s in options.modes):
        from profkit.executors.dask.addresses import check_available

        check_available()
    return dataclasses.replace(options, line_names=tuple(dict.fromkeys([*own, *options.line_names])))
