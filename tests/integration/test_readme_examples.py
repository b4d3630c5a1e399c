"""Every ```python example in README.md and docs/*.md runs, each in a fresh interpreter in an
empty folder.

Mark an example that must not run (it needs a cluster, say) with the line
``<!-- no-test -->`` just before its fence.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.fixtures.cli import REPO, cli_env

#: The README first, then every docs/ page.
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
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


#: (where, code, skipped) for every ```python block, where = "page.md:line".
BLOCKS = [(f"{page.name}:{line}", code, skipped) for page in PAGES if page.is_file()
          for line, code, skipped in python_blocks(page.read_text(encoding="utf-8"))]


def test_readme_has_python_examples():
    assert PAGES[0].is_file(), "README.md is missing at the repository root"
    readme = [b for b in BLOCKS if b[0].startswith("README.md:")]
    assert any(not skipped for _, _, skipped in readme), \
        "README.md has no ```python example to test (mark only untestable ones <!-- no-test -->)"
    assert any(not b[0].startswith("README.md:") for b in BLOCKS), "docs/ has no ```python example"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("where, code, skipped", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_readme_example_runs(tmp_path, where, code, skipped):
    if skipped:
        # Marked examples need a run folder the reader has (a path with their timestamp):
        # they must still be valid Python that uses only the public API.
        compile(code, where, "exec")
        assert "import profkit" in code
        return
    script = tmp_path / f"example_{where.replace('.md:', '_line_')}.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=cli_env(),
                            capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, f"{where} failed:\n{result.stdout}\n{result.stderr}"
