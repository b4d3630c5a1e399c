"""The report's Artifacts commands work from where the report says: inside the run folder."""

from __future__ import annotations

import html
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.cli import cli_env, run_cli


def _commands(run) -> tuple[Path, list[str]]:
    text = (run.path / "index.html").read_text(encoding="utf-8")
    section = text[text.index('<section id="artifacts">'):]
    section = section[:section.index("</section>")]
    commands = [html.unescape(c) for c in re.findall(r'<code class="cmd"[^>]*>([^<]*)</code>', section)]
    cd = next(c for c in commands if c.startswith("cd "))
    return Path(shlex.split(cd)[1]), [c for c in commands if not c.startswith("cd ")]


@pytest.mark.matrix
def test_every_artifact_command_runs_from_inside_the_run_folder(small_primes_run):
    folder, commands = _commands(small_primes_run)
    assert folder.is_absolute() and folder == small_primes_run.path.resolve()
    seen = set()
    for command in commands:
        argv = shlex.split(command)
        if argv[0] == "snakeviz":  # a server: check the file it opens is where the command says
            assert (folder / argv[1]).is_file(), command
            seen.add("snakeviz")
        elif argv[:3] == ["python", "-m", "line_profiler"]:
            out = subprocess.run([sys.executable, *argv[1:]], cwd=folder, env=cli_env(),
                                 capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, (command, out.stderr)
            assert "is_prime" in out.stdout
            seen.add("line_profiler")
        elif argv[:2] == ["profkit", "lines"]:
            out = run_cli(*argv[1:], cwd=folder)
            assert out.returncode == 0, (command, out.stderr)
            assert "Timer unit: 1e-06 s" in out.stdout  # µs, as python -m line_profiler prints
            seen.add("profkit lines")
        elif argv[:2] == ["profkit", "view"]:
            assert argv[2] == "." and (folder / "run.json").is_file()
            seen.add("profkit view")
        elif command.startswith("pd.read_parquet("):
            import ast

            assert (folder / ast.literal_eval(command[len("pd.read_parquet("):-1])).is_file(), command
            seen.add("parquet")
    assert seen == {"snakeviz", "line_profiler", "profkit lines", "profkit view", "parquet"}
