#!/usr/bin/env python
"""The error rates of ``profkit compare --fail-above`` on this machine.

Two kinds of pairs of real runs, interleaved so drift on the machine hits both:

* **A/A**: the same code profiled twice; ``compare A A' --fail-above 10`` must
  exit 0. Target: at most 1 gate failure in 20 pairs.
* **A/B**: B's task does 15% more work; the rule must call it slower.
  Target: at least 18 detections in 20 pairs, at profkit's default repeats.
  How many of them also fail ``--fail-above 10`` is printed beside it.

Each run is ``python -m profkit profile WORKLOAD --modes sequential --repeat N``
on a small busy loop (about 50 ms a map, about 1.5 s a run with profkit's own
passes), and each comparison is ``python -m profkit compare A B --fail-above 10
--json --no-html``: the exit code is the gate's answer.

Usage::

    python scripts/bench_gate.py                  # 20 + 20 pairs at --repeat 5: about 3 minutes
    python scripts/bench_gate.py --repeat 3       # the 3 vs 3 case
    python scripts/bench_gate.py --pairs 5 --json gate.json

``scripts/bench.py`` runs the same measurement and prints both rates with its
other figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

#: The workload: a pure-Python loop whose length PROFKIT_GATE_FACTOR scales.
WORKLOAD_SOURCE = textwrap.dedent('''
    """The compare gate's workload: a busy loop, PROFKIT_GATE_FACTOR times longer."""
    import os

    import profkit

    BASE_WORK = {base_work}
    FACTOR = float(os.environ.get("PROFKIT_GATE_FACTOR", "1"))


    def spin(n):
        total = 0
        for i in range(n):
            total += i * i % 7
        return total


    def task(item):
        return spin(int(BASE_WORK * FACTOR)) + item


    WORKLOAD = profkit.Workload("gate", task, list(range(6)), description="the compare gate's busy loop")
''')


@dataclass
class GateConfig:
    """How many pairs, of what size, against which gate."""

    pairs: int = 20
    repeat: int | str = 5           # --repeat: a number, or "auto" (profkit profile's default)
    slowdown: float = 1.15          # B's work over A's in the A/B pairs
    fail_above: float = 10.0
    base_work: int = 250_000        # about 8 ms per item here, 6 items
    modes: str = "sequential"
    max_false_alarms: int = 1       # targets, per ``pairs`` = 20
    min_detections: int = 18
    timeout_s: float = 120.0


def _env(factor: float) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["PROFKIT_GATE_FACTOR"] = repr(factor)
    return env


def _profkit(args: Sequence[str], cwd: Path, factor: float,
             timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "profkit", *args], cwd=cwd, env=_env(factor),
                          capture_output=True, text=True, timeout=timeout)


def _profile(cfg: GateConfig, cwd: Path, out: Path, factor: float) -> float:
    t0 = time.perf_counter()
    proc = _profkit(["profile", "gate_workload.py:WORKLOAD", "--modes", cfg.modes, "--repeat",
                     str(cfg.repeat), "--line-budget", "0.01", "-q", "--out", str(out)],
                    cwd, factor, cfg.timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"profkit profile exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return time.perf_counter() - t0


def _compare(cfg: GateConfig, cwd: Path, a: Path, b: Path) -> dict[str, Any]:
    proc = _profkit(["compare", str(a), str(b), "--fail-above", f"{cfg.fail_above:g}", "--json", "--no-html"],
                    cwd, 1.0, cfg.timeout_s)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"profkit compare exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    data = json.loads(proc.stdout)
    keys = ("mode", "measure", "change_pct", "ratio_ci", "verdict", "repeats_a", "repeats_b",
            "wall_change_pct", "wall_per_cpu_a", "wall_per_cpu_b")
    modes = [{k: m.get(k) for k in keys} for m in data["modes"]]
    return {"exit": proc.returncode, "modes": modes}


def measure(cfg: GateConfig, workdir: Path, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run ``cfg.pairs`` A/A and A/B pairs, interleaved; every run's answer is kept."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "gate_workload.py").write_text(WORKLOAD_SOURCE.format(base_work=cfg.base_work),
                                              encoding="utf-8")
    pairs: dict[str, list[dict[str, Any]]] = {"aa": [], "ab": []}
    t0 = time.perf_counter()
    for i in range(cfg.pairs):
        # alternate which kind goes first, so slow spells on the machine do not favour one
        kinds = ("aa", "ab") if i % 2 == 0 else ("ab", "aa")
        for kind in kinds:
            folder = workdir / f"{kind}-{i:02d}"
            run_a, run_b = folder / "a", folder / "b"
            seconds = _profile(cfg, workdir, run_a, 1.0)
            seconds += _profile(cfg, workdir, run_b, 1.0 if kind == "aa" else cfg.slowdown)
            result = _compare(cfg, workdir, run_a, run_b)
            result["profile_s"] = seconds
            pairs[kind].append(result)
            mode = result["modes"][0] if result["modes"] else {}
            log(f"gate pair {i + 1}/{cfg.pairs} {kind.upper()}: exit {result['exit']}, "
                f"{mode.get('measure')} change {mode.get('change_pct') or float('nan'):+.1f}% (wall "
                f"{mode.get('wall_change_pct') or float('nan'):+.1f}%, wall/CPU "
                f"{mode.get('wall_per_cpu_a') or float('nan'):.2f} -> "
                f"{mode.get('wall_per_cpu_b') or float('nan'):.2f}), "
                f"{mode.get('verdict')}")
    return {"config": asdict(cfg), "pairs": pairs, "total_s": time.perf_counter() - t0}


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """The two rates and their verdicts against the targets (scaled to the number of pairs)."""
    cfg = GateConfig(**raw["config"])
    aa, ab = raw["pairs"]["aa"], raw["pairs"]["ab"]
    false_alarms = sum(1 for p in aa if p["exit"] != 0)
    # detected: the rule calls B slower; the gate also needs the measured change above --fail-above
    detections = sum(1 for p in ab if p["modes"] and p["modes"][0]["verdict"] == "slower")
    ab_gate = sum(1 for p in ab if p["exit"] == 1)
    scale = len(aa) / 20.0 if aa else 1.0
    allowed = cfg.max_false_alarms * scale
    needed = cfg.min_detections * (len(ab) / 20.0 if ab else 1.0)

    def changes(pairs: list[dict[str, Any]]) -> list[float]:
        firsts = [p["modes"][0] for p in pairs if p["modes"]]
        return [m["change_pct"] for m in firsts if m["change_pct"] is not None]

    def spread(values: list[float]) -> str:
        if not values:
            return "-"
        ordered = sorted(values)
        return f"median {ordered[len(ordered) // 2]:+.1f}%, range {ordered[0]:+.1f}% to {ordered[-1]:+.1f}%"

    def by_cpu(pairs: list[dict[str, Any]]) -> int:
        return sum(1 for p in pairs if p["modes"] and p["modes"][0].get("measure") == "cpu")

    return {
        "aa_by_cpu": by_cpu(aa), "ab_by_cpu": by_cpu(ab),
        "false_alarms": false_alarms, "aa_pairs": len(aa), "aa_allowed": allowed,
        "aa_met": bool(aa) and false_alarms <= allowed,
        "aa_called": sum(1 for p in aa if p["modes"] and p["modes"][0]["verdict"] in ("slower", "faster")),
        "detections": detections, "ab_gate": ab_gate, "ab_pairs": len(ab), "ab_needed": needed,
        "ab_met": bool(ab) and detections >= needed,
        "aa_changes": spread(changes(aa)), "ab_changes": spread(changes(ab)),
        "repeat": cfg.repeat, "slowdown_pct": 100.0 * (cfg.slowdown - 1.0), "fail_above": cfg.fail_above,
    }


def report_lines(s: dict[str, Any]) -> list[str]:
    """What the bench prints under the two figures."""
    return [
        f"A/A: {s['false_alarms']}/{s['aa_pairs']} gate failures at --fail-above {s['fail_above']:g} "
        f"(target <= {s['aa_allowed']:g}); {s['aa_called']} change(s) called at all; B/A changes "
        f"{s['aa_changes']}",
        f"A/B (B {s['slowdown_pct']:.0f}% slower): {s['detections']}/{s['ab_pairs']} called slower "
        f"(target >= {s['ab_needed']:g}); {s['ab_gate']}/{s['ab_pairs']} also failed --fail-above "
        f"{s['fail_above']:g} (a measured change of 10% or less passes it); B/A changes {s['ab_changes']}",
        f"each pair: two `profkit profile --modes sequential --repeat {s['repeat']}` runs of a ~50 ms busy "
        "loop, then `profkit compare --fail-above`; A/A and A/B pairs interleaved",
        f"the rule compared CPU time instead of wall time (the runs waited differently or unevenly) in "
        f"{s['aa_by_cpu']}/{s['aa_pairs']} A/A and {s['ab_by_cpu']}/{s['ab_pairs']} A/B pairs",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20, help="pairs of each kind (default: 20)")
    parser.add_argument("--repeat", default="5", help="profkit profile --repeat: N or auto (default: 5)")
    parser.add_argument("--json", help="write every pair's numbers here")
    args = parser.parse_args(argv)
    cfg = GateConfig(pairs=args.pairs, repeat=args.repeat)
    t0 = time.perf_counter()

    def log(message: str) -> None:
        sys.stderr.write(f"[{time.perf_counter() - t0:6.1f}s] {message}\n")

    with tempfile.TemporaryDirectory(prefix="profkit-gate-") as tmp:
        raw = measure(cfg, Path(tmp), log)
    s = summarise(raw)
    print(f"compare gate, --repeat {cfg.repeat}, {cfg.pairs} + {cfg.pairs} pairs, {raw['total_s']:.0f} s")
    for line in report_lines(s):
        print(f"  {line}")
    print(f"  A/A {'met' if s['aa_met'] else 'missed'}; A/B {'met' if s['ab_met'] else 'missed'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": s, "raw": raw}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
