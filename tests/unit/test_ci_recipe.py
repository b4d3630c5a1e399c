"""The CI recipe (docs/ci.md): valid GitHub Actions YAML whose profkit commands profkit's parser accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from profkit.cli import build_parser
from tests.conftest import require

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "ci.md").read_text(encoding="utf-8")


def recipe() -> str:
    """The ```yaml block of the CI recipe page."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", PAGE, flags=re.S | re.M)
    assert len(blocks) == 1, "the CI recipe has one ```yaml block"
    return blocks[0]


def _steps(doc: dict) -> list[dict]:
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def profkit_commands(text: str) -> list[list[str]]:
    """Every `profkit ...` command in the recipe's run steps, split as the shell would."""
    doc = require("yaml").safe_load(text)
    env = {k: str(v) for job in doc["jobs"].values() for k, v in (job.get("env") or {}).items()}
    commands = []
    for step in _steps(doc):
        for line in str(step.get("run", "")).splitlines():
            line = line.strip()
            if line.startswith("profkit "):
                expanded = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), line)
                commands.append(shlex.split(expanded))
    return commands


def test_recipe_is_a_github_actions_job():
    doc = require("yaml").safe_load(recipe())
    assert (doc.get("on") or doc.get(True)) == "pull_request"  # YAML 1.1 reads a bare `on` as True
    steps = _steps(doc)
    assert any(str(s.get("uses", "")).startswith("actions/checkout@") for s in steps)
    assert any(str(s.get("uses", "")).startswith("actions/setup-python@") for s in steps)


def test_every_profkit_command_in_the_recipe_parses():
    commands = profkit_commands(recipe())
    assert [c[1] for c in commands] == ["profile", "profile", "compare"]
    parser = build_parser()
    for argv in commands:
        assert argv[0] == "profkit"
        try:
            parser.parse_args(argv[1:])
        except SystemExit as exc:  # argparse's way to say no
            pytest.fail(f"not a valid profkit command: {shlex.join(argv)} (exit {exc.code})")


def test_recipe_compares_the_two_runs_it_made_and_gates():
    commands = profkit_commands(recipe())
    parser = build_parser()
    base, change, compare = (parser.parse_args(c[1:]) for c in commands)
    # the base is profiled from inside its checkout (`cd base`), so its --out is ../runs/base
    assert Path("base", base.out).resolve() == Path(compare.run_a).resolve()
    assert Path(change.out).resolve() == Path(compare.run_b).resolve()
    assert base.target == change.target == "mypackage.bench:workload"
    assert float(compare.fail_above) == 10
    assert int(base.repeat) >= 5 and int(change.repeat) >= 5  # enough rounds for the U test
