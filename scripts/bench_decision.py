#!/usr/bin/env python
"""Does a default run give the answer a long run gives? The decision rule's A/B on this machine.

A default ``profkit profile`` stops timing once its recommendation is settled. This script
checks that the early stop does not change the answer: it makes ``--long`` runs at
``--repeat 10`` (the reference; they must agree among themselves), then ``--runs`` default
runs of the same target, each ``python -m profkit profile TARGET`` in a fresh process, and
counts how many recommend the same mode as the reference (target: at least 19 of 20).

Each default run's printed warnings are counted too, beside whether the run found the machine
quiet (no timing round set aside because other programs were busy): a quiet run should print
none, a busy one at most one.

Usage::

    python scripts/bench_decision.py                      # primes, 20 default runs: about 10 min
    python scripts/bench_decision.py --runs 5 --json decision.json
    python scripts/bench_decision.py --target path/to/file.py:WORKLOAD
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: At least this share of default runs must give the long run's recommendation (19 of 20).
AGREEMENT_TARGET = 0.95


@dataclass
class Answer:
    """What one run tells the user: the recommended mode and the reference mode's top function."""

    mode: str | None
    bottleneck: str | None
    settled: bool | None
    wall_s: float
    rounds: int
    spoiled_rounds: int
    warnings: list[str] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return self.spoiled_rounds == 0


def answer_of(run_json: dict[str, object]) -> tuple[str | None, str | None]:
    """The recommended mode and the reference mode's top function of a saved run.json."""
    analysis = run_json["analysis"]
    assert isinstance(analysis, dict)
    reference = analysis.get("reference_mode")
    top = next((b for b in analysis.get("bottlenecks") or [] if b["mode"] == reference), None)
    return (analysis.get("recommendation") or {}).get("mode"), top and top["name"]


def profile_once(target: str, out: Path, extra: Sequence[str] = (), timeout_s: float = 1800) -> Answer:
    """``python -m profkit profile TARGET`` in a fresh process; its answer and printed warnings."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "profkit", "profile", target, "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=timeout_s)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"profkit profile {target} exited {done.returncode}: {done.stderr[-2000:]}")
    data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    mode, bottleneck = answer_of(data)
    rounds = data.get("rounds") or []
    warnings = [line for line in (done.stdout + done.stderr).splitlines()
                if line.startswith(("warning:", "profkit: warning:"))]
    return Answer(mode, bottleneck, (data.get("stopping") or {}).get("settled"), wall, len(rounds),
                  sum(1 for r in rounds if r.get("spoiled")), warnings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="primes", help="what to profile (default: primes)")
    parser.add_argument("--runs", type=int, default=20, help="default runs (default: 20)")
    parser.add_argument("--long", type=int, default=1, help="--repeat 10 reference runs (default: 1)")
    parser.add_argument("--json", help="write every run's answer here")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="profkit-decision-"))
    print(f"decision A/B on {args.target}: {args.long} run(s) at --repeat 10, then {args.runs} default "
          f"runs; load average {os.getloadavg()[0]:.2f}", flush=True)
    long_runs = []
    for k in range(args.long):
        answer = profile_once(args.target, work / f"long-{k}", ("--repeat", "10", "--quiet"))
        long_runs.append(answer)
        print(f"  --repeat 10 #{k + 1}: {answer.mode} (bottleneck {answer.bottleneck}), "
              f"{answer.wall_s:.0f} s, {answer.spoiled_rounds} of {answer.rounds} rounds set aside",
              flush=True)
    reference = {a.mode for a in long_runs}
    if len(reference) != 1:
        print(f"the --repeat 10 runs disagree among themselves ({sorted(map(str, reference))}): "
              "no reference to compare with")
        return 1
    (truth,) = reference
    runs = []
    for k in range(args.runs):
        answer = profile_once(args.target, work / f"default-{k}")
        runs.append(answer)
        print(f"  default #{k + 1}: {answer.mode} (bottleneck {answer.bottleneck}), {answer.wall_s:.0f} s, "
              f"{answer.rounds} rounds ({answer.spoiled_rounds} set aside), "
              f"{len(answer.warnings)} warning(s)", flush=True)
    agree = sum(1 for a in runs if a.mode == truth)
    same_bottleneck = sum(1 for a in runs if a.bottleneck == long_runs[0].bottleneck)
    quiet = [a for a in runs if a.quiet]
    busy = [a for a in runs if not a.quiet]
    met = agree >= AGREEMENT_TARGET * args.runs
    print(f"recommendation as --repeat 10 ({truth}): {agree} of {args.runs} "
          f"(target at least {AGREEMENT_TARGET:.0%}): {'met' if met else 'missed'}")
    print(f"bottleneck as --repeat 10 ({long_runs[0].bottleneck}): {same_bottleneck} of {args.runs}")
    print(f"warnings: quiet runs {sum(len(a.warnings) for a in quiet)} in {len(quiet)} (target 0 each); "
          f"busy runs at most {max((len(a.warnings) for a in busy), default=0)} in {len(busy)} "
          "(target at most 1 each)")
    median_wall = sorted(a.wall_s for a in runs)[len(runs) // 2] if runs else None
    if args.json:
        Path(args.json).write_text(json.dumps({
            "target": args.target, "reference": truth, "agree": agree, "runs": args.runs, "met": met,
            "median_default_wall_s": median_wall,
            "long": [asdict(a) for a in long_runs], "default": [asdict(a) for a in runs]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
