#!/usr/bin/env python
"""The cost of ``profkit run``: the lesson's primes program under profkit against its bare run.

Figures (ratios of medians over interleaved rounds, each round running the three
commands in a rotating order, each in a fresh process):

- ``run_program_cost``: ``profkit run primes.py`` over ``python primes.py``, wall of
  the whole command (report written): at most 2x;
- ``run_program_timeline_cost``: the same with ``--timeline-only`` (every profiler off):
  at most 1.1x.

The details split profkit's wall into the program's own (as profkit timed it) and the
rest (start-up, analysis, the run folder). Run alone (``python scripts/bench_program.py
[--rounds N]``) or as part of ``scripts/bench.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROGRAM = REPO / "tests" / "fixtures" / "programs" / "primes.py"
TARGETS = {"run_program_cost_x": 2.0, "run_program_timeline_cost_x": 1.1}
FIGURE_NAMES = ("run_program_cost", "run_program_timeline_cost")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=_env(), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=300)
    return time.perf_counter() - start


def measure(workdir: Path, log: Callable[[str], None], rounds: int = 3) -> dict[str, Any]:
    """Wall seconds of the bare program and of both profkit runs, round by round."""
    workdir.mkdir(parents=True, exist_ok=True)
    raw: dict[str, Any] = {"bare_s": [], "run_s": [], "timeline_s": [], "program_s": [],
                           "timeline_program_s": []}
    steps = ("bare", "run", "timeline")
    for k in range(rounds):
        order = steps[k % 3:] + steps[:k % 3]
        for step in order:
            if step == "bare":
                raw["bare_s"].append(_timed([sys.executable, str(PROGRAM)], workdir))
                continue
            out = workdir / f"{step}-{k}"
            flags = ["--timeline-only"] if step == "timeline" else []
            raw[f"{step}_s"].append(_timed([sys.executable, "-m", "profkit", "run", "--quiet",
                                            "--out", str(out), *flags, str(PROGRAM)], workdir))
            data = json.loads((out / "run.json").read_text(encoding="utf-8"))
            key = "program_s" if step == "run" else "timeline_program_s"
            raw[key].append(float(data["program"]["wall_s"]))
        log(f"run program round {k + 1}/{rounds}: bare {raw['bare_s'][-1]:.2f} s, "
            f"profkit run {raw['run_s'][-1]:.2f} s, timeline only {raw['timeline_s'][-1]:.2f} s")
    raw["load_average"] = list(os.getloadavg())
    return raw


def figures(raw: dict[str, Any] | None, figure: Callable[..., Any],
            error: str | None = None) -> list[Any]:
    """The two figures, built with ``figure`` (scripts/bench.py's Figure class)."""
    cost = figure("run_program_cost", "13 profkit run primes.py / bare python primes.py", "x",
                  target=TARGETS["run_program_cost_x"],
                  target_text=f"<= {TARGETS['run_program_cost_x']:g}x")
    timeline = figure("run_program_timeline_cost", "14 profkit run --timeline-only / bare", "x",
                      target=TARGETS["run_program_timeline_cost_x"],
                      target_text=f"<= {TARGETS['run_program_timeline_cost_x']:g}x")
    if not raw:
        cost.error = timeline.error = error or "not measured"
        return [cost, timeline]
    bare = statistics.median(raw["bare_s"])
    for fig, key, program_key, target in (
            (cost, "run_s", "program_s", TARGETS["run_program_cost_x"]),
            (timeline, "timeline_s", "timeline_program_s", TARGETS["run_program_timeline_cost_x"])):
        whole, program = statistics.median(raw[key]), statistics.median(raw[program_key])
        fig.measured = whole / bare
        fig.measured_text = f"{fig.measured:.2f}x"
        fig.met = fig.measured <= target
        fig.details.append(f"bare {bare:.2f} s; profkit {whole:.2f} s, of which the program "
                           f"{program:.2f} s ({program / bare:.2f}x the bare command) and "
                           f"profkit's start-up, analysis and run folder {whole - program:.2f} s")
        fig.raw = {"bare_s": raw["bare_s"], "whole_s": raw[key], "program_s": raw[program_key]}
    return [cost, timeline]


def main() -> int:
    import argparse
    import tempfile

    from bench import Figure  # scripts/bench.py, beside this script

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    def log(message: str) -> None:
        sys.stderr.write(message + "\n")

    with tempfile.TemporaryDirectory(prefix="profkit-bench-run-") as tmp:
        raw = measure(Path(tmp), log, args.rounds)
    for fig in figures(raw, Figure):
        verdict = "met" if fig.met else "missed"
        print(f"{fig.title}: {fig.measured_text} (target {fig.target_text}): {verdict}")
        for line in fig.details:
            print(f"    {line}")
    print(f"    load average at the end: {', '.join(f'{x:.2f}' for x in raw['load_average'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
