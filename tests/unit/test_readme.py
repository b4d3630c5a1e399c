"""The README's frame table is the one in profkit/frames.py, column for column."""

from pathlib import Path

from profkit.frames import COLUMNS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_frame_column_is_documented_in_the_readme():
    for frame, columns in COLUMNS.items():
        assert f"**`{frame}`**" in README
        for column, (dtype, meaning) in columns.items():
            assert f"| `{column}` | {dtype} | {meaning} |" in README, (frame, column)


def test_readme_shows_the_two_commands():
    assert "pip install -e . && profkit profile primes" in README
    assert "pip install -e '.[test]' && python -m pytest" in README


def test_readme_commands_name_one_run():
    """A glob over reports/ breaks snakeviz and merges runs in line_profiler once two runs exist."""
    import re

    blocks = re.findall(r"^```sh\n(.*?)^```", README, flags=re.S | re.M)
    commands = [line for block in blocks for line in block.splitlines()]
    assert any("snakeviz profiles/processes.prof" in c for c in commands)
    assert not [c for c in commands if re.search(r"reports/\S*\*", c)]


def test_readme_has_a_safety_paragraph():
    """Issue 12: what opening a run reads, and what it never does."""
    safety = README.split("## Safety", 1)[1].split("\n## ", 1)[0]
    for needle in ("never unpickle", "frames/lines.parquet", "inside the\nrun folder",
                   "127.0.0.1", "`Host` header", "dies with it"):
        assert needle in safety, needle
