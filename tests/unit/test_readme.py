"""README.md and the docs/ pages say what the code does: the frame table is profkit/frames.py's,
every command and config block is one profkit accepts, every link leads somewhere, and the
README stays a short front page."""

import re
import shlex
from pathlib import Path

import pytest

from profkit.frames import COLUMNS

ROOT = Path(__file__).resolve().parents[2]
README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
#: The README first, then every docs/ page: each is held to the same checks.
PAGES = [README_PATH, *sorted((ROOT / "docs").glob("*.md"))]
TEXTS = {page: page.read_text(encoding="utf-8") for page in PAGES}


def page(name: str) -> str:
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


def blocks(language: str) -> list[tuple[Path, str]]:
    """(page, code) for every ```language block of the README and the docs."""
    found = []
    for path, text in TEXTS.items():
        for code in re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M):
            found.append((path, code))
    return found


def test_the_docs_have_pages():
    names = {p.name for p in PAGES}
    assert {"frames.md", "safety.md", "compare.md", "cli.md", "ci.md", "measuring.md",
            "benchmarks.md"} <= names


def test_readme_is_a_short_front_page():
    assert len(README.splitlines()) <= 250


def test_every_frame_column_is_documented_in_the_frames_page():
    frames = page("frames.md")
    for frame, columns in COLUMNS.items():
        assert f"**`{frame}`**" in frames
        for column, (dtype, meaning) in columns.items():
            assert f"| `{column}` | {dtype} | {meaning} |" in frames, (frame, column)


def test_readme_shows_the_two_commands():
    assert "pip install -e . && profkit profile primes" in README
    assert "pip install -e '.[test]' && python -m pytest" in README


def test_readme_says_why_the_tests_need_chromium():
    """The test command installs Chromium; the sentence before it says what for."""
    before = README.split("pip install -e '.[test]' && python -m pytest", 1)[0]
    explanation = " ".join(before.rsplit("```sh", 1)[0].strip().split("\n\n")[-1].split())
    assert "headless browser" in explanation
    assert "`apt-get install -y chromium`" in explanation and "Debian and Ubuntu" in explanation


def test_commands_name_one_run():
    """A glob over reports/ breaks snakeviz and merges runs in line_profiler once two runs exist."""
    commands = [line for _, block in blocks("sh") for line in block.splitlines()]
    assert any("snakeviz profiles/processes.prof" in c for c in commands)
    assert not [c for c in commands if re.search(r"reports/\S*\*", c)]


def profkit_commands(block: str) -> list[list[str]]:
    """Each `profkit ...` command of a shell block, split as the shell would, comments dropped."""
    commands = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        command: list[str] = []
        for word in [*words, "&&"]:
            if word in ("&&", "||", "|", ";", "&"):
                if command and command[0] == "profkit":
                    commands.append(command)
                command = []
            else:
                command.append(word)
    return commands


def test_profkit_commands_are_found_in_a_shell_block():
    block = "pip install -e . && profkit profile primes  # a comment\ncd x\nprofkit lines . --mode m\n"
    assert profkit_commands(block) == [["profkit", "profile", "primes"],
                                       ["profkit", "lines", ".", "--mode", "m"]]


def test_every_profkit_command_in_the_docs_parses():
    from profkit.cli import build_parser

    parser = build_parser()
    commands = [(path, argv) for path, block in blocks("sh") for argv in profkit_commands(block)]
    assert {argv[1] for _, argv in commands} >= {"profile", "compare", "ab", "view", "lines"}
    for path, argv in commands:
        try:
            parser.parse_args(argv[1:])
        except SystemExit as exc:  # argparse's way to say no
            pytest.fail(f"{path.name}: not a valid profkit command: {shlex.join(argv)} (exit {exc.code})")


def test_every_documented_file_target_names_a_workload_of_its_example_file(tmp_path, monkeypatch):
    """A command's ``path/to/NAME.py:name`` target, where a page shows NAME.py (a ```python block
    that opens with ``# NAME.py``), resolves to a workload of that file, as profkit would load it."""
    import sys
    import tempfile

    from profkit.workloads.registry import remove_import_shims, resolve

    # the import shims profkit makes for a file target stay in this test's folder and path
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))

    files = {code.splitlines()[0][2:].strip(): code for _, code in blocks("python")
             if re.fullmatch(r"# [\w.-]+\.py", code.splitlines()[0] if code else "")}
    assert "wl.py" in files
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    targets = [(path, arg) for path, block in blocks("sh") for argv in profkit_commands(block)
               for arg in argv[2:] if re.fullmatch(r"[\w./-]+\.py:\w+", arg)
               and arg.split(":")[0].rsplit("/", 1)[-1] in files]
    assert targets
    for path, target in targets:
        file, name = target.split(":")
        workload = resolve(f"{tmp_path / file.rsplit('/', 1)[-1]}:{name}")
        assert workload.items, f"{path.name}: {target} resolves to a workload without items"
    remove_import_shims()


def test_every_flag_is_documented_in_the_command_line_page():
    import argparse

    from profkit.cli import build_parser

    cli = page("cli.md")
    subparsers = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    flags = {(name, flag) for action in subparsers for name, sub in action.choices.items()
             for a in sub._actions for flag in a.option_strings if flag.startswith("--")}
    assert ("profile", "--modes") in flags
    missing = sorted((name, flag) for name, flag in flags if flag != "--help" and f"`{flag}" not in cli
                     and f" {flag}" not in cli and f"[{flag}" not in cli)
    assert not missing, f"docs/cli.md does not name: {missing}"


def test_every_toml_block_is_a_config_profkit_accepts(tmp_path):
    from profkit.config import load_config

    tomls = blocks("toml")
    assert tomls
    for i, (path, block) in enumerate(tomls):
        folder = tmp_path / str(i)
        folder.mkdir()
        (folder / "pyproject.toml").write_text(block, encoding="utf-8")
        assert "[tool.profkit]" in block, path.name
        assert load_config(folder), path.name


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_link_between_the_pages_leads_somewhere():
    links = 0
    for path, text in TEXTS.items():
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            assert dest.is_file(), f"{path.name}: link to a missing file: {target}"
            if anchor:
                headings = re.findall(r"^#+ (.*)$", dest.read_text(encoding="utf-8"), flags=re.M)
                assert anchor in {_anchor(h) for h in headings}, f"{path.name}: no heading for {target}"
            links += 1
    assert links >= 10


def test_the_safety_page():
    """What opening a run never does, the limits it keeps (as the store has them), and the tests
    that show it (which exist)."""
    from profkit.store import MAX_JSON_DEPTH, MAX_READ_BYTES

    safety = page("safety.md")
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


def test_the_config_out_is_where_the_runs_go_as_the_cli_page_says(tmp_path):
    """cli.md's `out` key: the parent of the run folders, taken from the pyproject's folder."""
    from profkit.config import load_config
    from profkit.pipeline import default_out_dir

    (block,) = [b for path, b in blocks("toml") if path.name == "cli.md"]
    assert 'out = "profiling"' in block and "profiling/<workload>-<time>/" in block
    (tmp_path / "pyproject.toml").write_text(block, encoding="utf-8")
    config = load_config(tmp_path)
    assert config is not None and config.out is not None
    run_dir = default_out_dir("primes", config.out)
    assert run_dir.parent == tmp_path / "profiling"
    assert re.fullmatch(r"primes-\d{8}-\d{6}", run_dir.name)
    assert "`out` is the folder the runs go in" in page("cli.md")
