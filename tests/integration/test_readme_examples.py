"""Every ```python example in README.md runs, each in a fresh interpreter in an empty folder.

Mark an example that must not run (it needs a cluster, say) with the line
``<!-- no-test -->`` just before its fence.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.fixtures.cli import REPO, cli_env

README = REPO / "README.md"
SKIP_MARK = "<!-- no-test -->"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """(line number, code, skipped) for each ```python block of a Markdown text."""
    blocks = []
    for match in FENCE.finditer(text):
        before = [line.strip() for line in text[: match.start()].splitlines() if line.strip()]
        line = text.count("\n", 0, match.start()) + 1
        blocks.append((line, match.group(1), bool(before) and before[-1] == SKIP_MARK))
    return blocks


def test_block_extraction():
    text = ("# t\n\n```python\nprint(1)\n```\n\n<!-- no-test -->\n```python\nboom()\n```\n"
            "```bash\nprofkit list\n```\n")
    assert python_blocks(text) == [(3, "print(1)\n", False), (8, "boom()\n", True)]


BLOCKS = python_blocks(README.read_text(encoding="utf-8")) if README.is_file() else []


def test_readme_has_python_examples():
    assert README.is_file(), "README.md is missing at the repository root"
    assert any(not skipped for _, _, skipped in BLOCKS), \
        "README.md has no ```python example to test (mark only untestable ones <!-- no-test -->)"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("line, code, skipped", BLOCKS, ids=[f"README.md:{b[0]}" for b in BLOCKS])
def test_readme_example_runs(tmp_path, line, code, skipped):
    if skipped:
        # Marked examples need a run folder the reader has (a path with their timestamp):
        # they must still be valid Python that uses only the public API.
        compile(code, f"README.md:{line}", "exec")
        assert "import profkit" in code
        return
    script = tmp_path / f"readme_line_{line}.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=cli_env(),
                            capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, f"README.md:{line} failed:\n{result.stdout}\n{result.stderr}"
