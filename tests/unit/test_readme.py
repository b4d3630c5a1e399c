"""The README's frame table is the one in profkit/frames.py, column for column."""

import re
from pathlib import Path

from profkit.frames import COLUMNS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


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
    """What opening a run never does, the limits it keeps (as the store has them), and the tests
    that show it (which exist)."""
    from profkit.store import MAX_JSON_DEPTH, MAX_READ_BYTES

    safety = README.split("## Safety", 1)[1].split("\n## ", 1)[0]
    for needle in ("Nothing is imported", "Nothing is unpickled", "Nothing outside it is read",
                   "Nothing is read whole", "Nothing runs in the browser", "127.0.0.1", "dies with it"):
        assert needle in safety, needle
    flat = " ".join(safety.split())
    assert f"`run.json` and `.dat` files over {MAX_READ_BYTES['.json'] // 2**20} MiB" in flat
    assert MAX_READ_BYTES[".dat"] == MAX_READ_BYTES[".json"]
    assert MAX_READ_BYTES[".parquet"] == MAX_READ_BYTES[".prof"] == 2**30
    assert "frames and `.prof` files over 1 GiB" in flat
    assert f"nested over {MAX_JSON_DEPTH} levels" in flat
    for test_file in re.findall(r"`(tests/[\w/]+\.py)`", safety):
        assert (ROOT / test_file).is_file(), test_file
