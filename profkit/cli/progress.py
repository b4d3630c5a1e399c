"""Progress of a run: a live display on a terminal, plain lines elsewhere, nothing when quiet.

The runner reports each step as one line of text (``processes:2: starting 2
workers``, ``round 3: sequential 0.68 s, processes 0.39 s; precision ±2.1%
(target ±3%)``, ``sequential: cProfile inside the workers``). :class:`Tracker`
reads those lines into a state: mode, pass, round, precision, elapsed time and,
from the first round on, an estimate of what is left.

The live display (rich) redraws only when a step is reported, from the thread
that reports it: no refresh thread exists while pools fork, and none competes
with a timed map for the GIL. So the clock on screen moves step by step.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from profkit.engine.coverage import (
    CPROFILE_AUTO_FLOOR_S,
    CPROFILE_SLOWDOWN,
    LINE_AUTO_FLOOR_S,
    LINE_SLOWDOWN,
    allowance,
)
from profkit.model import (
    ALL,
    AUTO,
    DEFAULT_LINE_BUDGET_S,
    DEFAULT_MAX_ROUNDS,
    DEFAULT_MAX_ROUNDS_S,
    DEFAULT_MIN_ROUNDS,
    PassBudget,
)

if TYPE_CHECKING:
    from rich.table import Table


def _allowance(budget: PassBudget | str, serial_s: float, floor_s: float) -> float:
    """A pass's seconds per worker as the engine will plan them; a budget it refuses counts as auto."""
    if budget == ALL:
        return allowance(ALL, serial_s, floor_s)
    try:
        return allowance(float(budget), serial_s, floor_s)
    except ValueError:
        return allowance(AUTO, serial_s, floor_s)


_STEP = re.compile(r"^(?P<mode>[\w-]+(?::\d+)?): (?P<what>.*)$")
_ROUND = re.compile(r"^(?:(?P<label>.+?): )?round (?P<done>\d+)(?:/(?P<cap>\d+))?: (?P<rest>.*)$")
_WALL = re.compile(r"(?P<mode>[\w-]+(?::\d+)?) (?P<wall>[\d.e+-]+) s")
_PRECISION = re.compile(r"precision ±(?P<now>[\d.]+)% \(target ±(?P<target>[\d.]+)%\)")

PASSES = (
    ("starting", "start-up"),
    ("warm-up", "warm-up and task probe"),
    ("cProfile", "cProfile pass"),
    ("line_profiler", "line_profiler pass"),
    ("closing", "closing"),
)


@dataclass
class Plan:
    """What the run will do, as far as the progress estimate needs it."""

    n_modes: int = 1
    repeat: int | None = None
    max_rounds: int = DEFAULT_MAX_ROUNDS
    max_time_s: float = DEFAULT_MAX_ROUNDS_S
    line_budget: PassBudget | str = DEFAULT_LINE_BUDGET_S
    min_rounds: int = DEFAULT_MIN_ROUNDS


@dataclass
class Tracker:
    """The state of a run, read from the runner's progress lines."""

    plan: Plan = field(default_factory=Plan)
    clock: Callable[[], float] = time.perf_counter
    t0: float = 0.0
    mode: str = ""
    phase: str = "starting"
    round: int = 0
    cap: int | None = None
    label: str = ""
    precision: float | None = None
    target: float | None = None
    set_aside: int = 0
    walls: dict[str, float] = field(default_factory=dict)
    profiled: set[str] = field(default_factory=set)
    rounds_t0: float | None = None
    last_round_t: float | None = None
    round_s: float | None = None
    message: str = ""

    def __post_init__(self) -> None:
        self.t0 = self.t0 or self.clock()

    @property
    def elapsed(self) -> float:
        return self.clock() - self.t0

    def update(self, message: str) -> None:
        """Read one progress line."""
        now = self.clock()
        self.message = message
        match = _ROUND.match(message)
        if match:
            self._round(match, now)
            return
        step = _STEP.match(message)
        if not step:
            return
        what = step["what"]
        for key, phase in PASSES:
            if what.startswith(key):
                self.mode, self.phase = step["mode"], phase
                if phase in ("cProfile pass", "line_profiler pass"):
                    self.profiled.add(f"{step['mode']} {phase}")
                break

    def _round(self, match: re.Match[str], now: float) -> None:
        label = match["label"] or ""
        if label != self.label or self.rounds_t0 is None:
            self.label, self.rounds_t0, self.last_round_t, self.round_s = label, now, None, None
            self.round = 0
        start = self.last_round_t if self.last_round_t is not None else self.rounds_t0
        if self.last_round_t is None and self.round_s is None:
            # the first round's start is unknown (it follows the last warm-up): use its walls
            walls = [float(m["wall"]) for m in _WALL.finditer(match["rest"].split(";")[0])]
            took = sum(walls) if walls else now - start
            self.rounds_t0 = now - took
        else:
            took = now - start
        self.round_s = took if self.round_s is None else 0.7 * self.round_s + 0.3 * took
        self.last_round_t = now
        self.round = int(match["done"])
        self.cap = int(match["cap"]) if match["cap"] else None
        self.phase = f"{label} rounds" if label else "timing rounds"
        self.mode = ""
        if not label:  # sweep points would mix other worker counts into the estimate
            for m in _WALL.finditer(match["rest"].split(";")[0]):
                self.walls[m["mode"]] = float(m["wall"])
        precision = _PRECISION.search(match["rest"])
        if precision:
            self.precision = float(precision["now"]) / 100
            self.target = float(precision["target"]) / 100
        if "set aside" in match["rest"]:
            self.set_aside += 1

    def rounds_left(self) -> int | None:
        """Rounds still to come, or None before the first round."""
        if self.round_s is None or self.rounds_t0 is None:
            return None
        if self.label:  # a sweep point: its rounds are known only as they come
            return None
        done = self.round
        if self.plan.repeat is not None:
            return max(0, self.plan.repeat - done)
        # auto: the interval narrows as 1/sqrt(clean rounds); set-aside rounds do not count
        clean = done - self.set_aside
        need = self.plan.min_rounds
        if self.precision is not None and self.target and clean > 0:
            if self.precision <= self.target and clean >= self.plan.min_rounds:
                return 0
            need = max(need, math.ceil(clean * (self.precision / self.target) ** 2))
        clean_share = clean / done if done else 1.0
        left = float(self.plan.max_rounds - done)
        if clean_share > 0:
            left = min(left, max(0, need - clean) / clean_share)
        if self.round_s > 0:
            spent = (self.last_round_t or 0.0) - self.rounds_t0
            left = min(left, max(0.0, math.ceil((self.plan.max_time_s - spent) / self.round_s)))
        return max(0, math.ceil(left))

    def seconds_left(self) -> float | None:
        """An estimate of the seconds left, once the first round has been timed; else None."""
        if self.phase == "closing":
            return 0.0
        if self.label or self.round_s is None:
            return None
        in_rounds = self.phase == "timing rounds"
        left = (self.rounds_left() or 0) * self.round_s if in_rounds else 0.0
        walls = list(self.walls.values())
        mean_wall = sum(walls) / len(walls) if walls else 0.0
        # each mode still has a cProfile pass and a line_profiler pass to run
        passes = max(0, 2 * max(self.plan.n_modes, len(walls)) - len(self.profiled))
        whole_s = CPROFILE_SLOWDOWN * mean_wall
        per_pass = (min(whole_s, allowance(AUTO, mean_wall, CPROFILE_AUTO_FLOOR_S, whole_s=whole_s))
                    + min(LINE_SLOWDOWN * mean_wall, _allowance(self.plan.line_budget, mean_wall,
                                                                LINE_AUTO_FLOOR_S))) / 2
        return left + passes * per_pass

    def headline(self) -> str:
        """``processes:2 · cProfile pass``, ``timing rounds · round 4 of at most 25 · ...``."""
        parts = [p for p in (self.mode, self.phase) if p]
        if self.round and "rounds" in self.phase:
            if self.cap is not None:
                parts.append(f"round {self.round}/{self.cap}")
            elif self.label:
                parts.append(f"round {self.round}")
            else:
                parts.append(f"round {self.round} (auto, at most {self.plan.max_rounds})")
            if self.precision is not None and self.target is not None:
                parts.append(f"precision ±{100 * self.precision:.1f}% (target ±{100 * self.target:g}%)")
            if self.set_aside:
                parts.append(f"{self.set_aside} set aside")
        return " · ".join(parts)

    def timing(self) -> str:
        """``12.3 s elapsed · about 8 s left``."""
        text = f"{self.elapsed:.1f} s elapsed"
        left = self.seconds_left()
        if left is None:
            return text + " · time left known after the first round"
        return text + (f" · about {_seconds(left)} left" if left >= 0.5 else " · finishing")


def _seconds(value: float) -> str:
    if value < 60:
        return f"{max(1, round(value))} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"


class Quiet:
    """No progress at all (``--quiet``)."""

    def __call__(self, message: str) -> None:
        return None

    def done(self) -> None:
        return None


class Lines:
    """One plain line per step, with the seconds since the start (pipes, logs, CI, notebooks)."""

    def __init__(self, stream: IO[str] | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.stream = stream
        self.clock = clock
        self.t0 = clock()

    def __call__(self, message: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(f"[{self.clock() - self.t0:6.1f}s] {message}\n")
        stream.flush()

    def done(self) -> None:
        return None


class Live:
    """A display that rewrites itself in place on a terminal (rich), redrawn at each step."""

    def __init__(self, plan: Plan, stream: IO[str] | None = None, title: str = "profkit") -> None:
        from rich.console import Console
        from rich.live import Live as RichLive

        self.tracker = Tracker(plan)
        self.title = title
        self.console = Console(file=stream or sys.stderr, highlight=False)
        self._live = RichLive(self._render(), console=self.console, auto_refresh=False,
                              transient=True, redirect_stdout=False, redirect_stderr=False)
        self._live.start(refresh=True)

    def _render(self) -> Table:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        t = self.tracker
        left = t.seconds_left()
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        grid.add_row(Text(self.title, style="bold"), Text(t.headline() or "starting"))
        if left is None:
            bar = ProgressBar(total=None, width=30)
        else:
            bar = ProgressBar(total=t.elapsed + left, completed=t.elapsed, width=30)
        grid.add_row(bar, Text(t.timing(), style="dim"))
        return grid

    def __call__(self, message: str) -> None:
        self.tracker.update(message)
        self._live.update(self._render(), refresh=True)

    def done(self) -> None:
        self._live.stop()


Display = Quiet | Lines | Live


def make_progress(quiet: bool, plan: Plan | None = None, stream: IO[str] | None = None,
                  title: str = "profkit") -> Display:
    """Nothing when quiet, the live display on a terminal, plain lines otherwise."""
    if quiet:
        return Quiet()
    out = stream or sys.stderr
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        try:
            return Live(plan or Plan(), out, title)
        except ImportError:  # rich missing: lines still say everything
            pass
    return Lines(out)
