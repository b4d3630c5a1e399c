"""The layering rules, read from the source: one-way imports, no cycles, no estimates in render.

The import graph is built from the AST of every module under ``profkit/``: module-level
and function-level imports alike (a lazy import is still a dependency), without the
imports under ``if TYPE_CHECKING:`` (Python never runs them; they name types only).
The root package ``profkit`` is left out: it is the public facade, imported before any
of its submodules, and it imports its API lazily on first attribute access.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "profkit"

#: Layers that must not import from the named ones (at run time or for types). Data flows
#: cli -> pipeline -> engine (runner, executors, collectors) -> frames -> analysis -> render;
#: the store saves and loads. The engine may use analysis's pure statistics (its stopping rule).
LOWER = ("profkit.cli", "profkit.pipeline", "profkit.magic")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "profkit.analysis": ("profkit.render", "profkit.run", *LOWER, "profkit.engine",
                         "profkit.executors", "profkit.collectors"),
    "profkit.store": ("profkit.render", "profkit.run", *LOWER, "profkit.engine", "profkit.executors",
                      "profkit.collectors"),
    "profkit.frames": ("profkit.render", "profkit.store", *LOWER, "profkit.analysis"),
    "profkit.engine": ("profkit.render", "profkit.store", *LOWER, "profkit.frames"),
    "profkit.executors": ("profkit.render", "profkit.store", *LOWER, "profkit.analysis",
                          "profkit.frames", "profkit.engine"),
    "profkit.collectors": ("profkit.render", "profkit.store", *LOWER, "profkit.analysis",
                           "profkit.frames", "profkit.engine"),
    "profkit.render": ("profkit.run", *LOWER, "profkit.engine", "profkit.executors",
                       "profkit.collectors"),
}

#: The one module that turns numbers into text: the lowest layer, used by render.
FMT = "profkit.fmt"

#: Violations the code still has. The test fails when one is fixed (remove it here) as well
#: as when a new one appears, so this list only shrinks.
KNOWN_IMPORTS: set[tuple[str, str]] = set()
#: Type-only imports that still close a cycle (none: a new one must be broken, not listed).
KNOWN_TYPE_CYCLES: set[tuple[str, str]] = set()
KNOWN_ESTIMATES: set[str] = set()

#: Names that hold an estimate; render formats them but must not compute them.
ESTIMATE = re.compile(r"speedup|bound|fit|peak|amdahl", re.I)
#: Reductions that turn measurements into an estimate.
REDUCTIONS = {"max", "min", "sum", "mean", "median", "quantile", "polyfit", "curve_fit", "idxmax"}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    lineno: int
    type_only: bool


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(known: dict[str, Path]) -> Iterator[Import]:
    """Every import of a profkit module by another, with the line and whether it names types only."""
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]

        def visit(node: ast.AST, type_only: bool, module: str = module,
                  package: str = package) -> Iterator[Import]:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                for child in node.body:
                    yield from visit(child, True)
                for child in node.orelse:
                    yield from visit(child, type_only)
                return
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                # ``from pkg import sub`` imports pkg.sub; ``from mod import name`` imports mod
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for name in names:
                target = _resolve(name, known)
                if target and target != module:
                    yield Import(module, target, getattr(node, "lineno", 0), type_only)
            for child in ast.iter_child_nodes(node):
                yield from visit(child, type_only)

        yield from visit(ast.parse(path.read_text(encoding="utf-8")), False)


def _under(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def test_the_graph_sees_the_imports_it_should():
    """The walker finds a module-level, a lazy and a type-only import it must see."""
    known = modules()
    found = {(i.source, i.target, i.type_only) for i in imports(known)}
    assert ("profkit.engine.runner", "profkit.executors.base", False) in found  # module level
    assert ("profkit.render", "profkit.analysis.own_frames", False) in found  # inside a function
    assert ("profkit.render.html", "profkit.record", True) in found  # under TYPE_CHECKING
    assert len(known) > 50


def test_fmt_imports_no_other_profkit_module():
    """profkit.fmt is the lowest layer: it imports no profkit module, not even for types."""
    known = modules()
    assert FMT in known
    found = sorted(f"{i.target} (line {i.lineno})" for i in imports(known) if i.source == FMT)
    assert found == [], "profkit.fmt imports " + ", ".join(found)


def test_render_formats_numbers_with_fmt_and_analysis_not_at_all():
    """Render, which writes the text a reader sees, takes its number formats from profkit.fmt;
    analysis returns facts and needs none."""
    users = {i.source for i in imports(modules()) if i.target == FMT}
    assert not any(_under(m, "profkit.analysis") for m in users)
    assert "profkit.render.text" in users


def test_no_import_cycles():
    """Imports form no cycle: run-time ones (lazy ones included) and type-only ones alike."""
    known = modules()
    graph: dict[str, set[str]] = {m: set() for m in known if m != "profkit"}
    type_only = set()
    for i in imports(known):
        if "profkit" in (i.source, i.target):
            continue
        if (i.source, i.target) in KNOWN_IMPORTS:  # checked, and shrinking, in the test below
            continue
        if i.type_only and (i.source, i.target) in KNOWN_TYPE_CYCLES:
            type_only.add((i.source, i.target))
            continue
        graph[i.source].add(i.target)
    assert type_only == KNOWN_TYPE_CYCLES, \
        f"fixed (remove from KNOWN_TYPE_CYCLES): {KNOWN_TYPE_CYCLES - type_only}"
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        pytest.fail(f"import cycle: {cycle}")


def test_layers_import_one_way():
    """analysis and store import nothing from render, and no lower layer imports a higher one."""
    known = modules()
    found = set()
    for i in imports(known):
        for layer, banned in FORBIDDEN.items():
            if _under(i.source, layer) and any(_under(i.target, b) for b in banned):
                found.add((i.source, i.target))
    assert found == KNOWN_IMPORTS, (
        "new: " + ", ".join(f"{s} imports {t}" for s, t in sorted(found - KNOWN_IMPORTS))
        + "; fixed (remove from KNOWN_IMPORTS): " + ", ".join(map(str, sorted(KNOWN_IMPORTS - found))))


def _computes(expr: ast.AST) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Mult, ast.Sub, ast.Pow,
                                                                ast.FloorDiv)):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in REDUCTIONS:
                return True
    return False


def _target_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ""


def estimates_in(source: str) -> list[tuple[int, str]]:
    """Where ``source`` stores a computed value under an estimate's name (a speedup, bound, fit, peak)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        pairs: list[tuple[ast.AST, ast.AST]] = []
        if isinstance(node, ast.Assign):
            pairs = [(t, node.value) for t in node.targets]
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            pairs = [(node.target, node.value)]
        elif isinstance(node, ast.Dict):
            pairs = [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
        elif isinstance(node, ast.Call):
            pairs = [(ast.Constant(k.arg), k.value) for k in node.keywords if k.arg]
        for target, value in pairs:
            name = _target_name(target)
            if name and ESTIMATE.search(name) and _computes(value):
                found.append((getattr(node, "lineno", 0), name))
    return found


def test_the_estimate_check_sees_a_computation_and_lets_formatting_pass():
    assert estimates_in("out['speedup'] = ref / wall") == [(1, "speedup")]
    assert estimates_in("peak = float(frame['rss'].max())") == [(1, "peak")]
    assert estimates_in("row = {'bound': a.get('bound'), 'text': fmt(speedup)}") == []
    assert estimates_in("label = f'{speedup:.2f}×'") == []


def test_render_computes_no_speedup_bound_fit_or_peak():
    """Render and profkit.fmt format estimates; they never compute one."""
    found = set()
    for module, path in modules().items():
        if _under(module, "profkit.render") or module == FMT:
            found |= {f"{module}:{name}" for _, name in estimates_in(path.read_text(encoding="utf-8"))}
    assert found == KNOWN_ESTIMATES, (
        "new: " + ", ".join(sorted(found - KNOWN_ESTIMATES))
        + "; fixed (remove from KNOWN_ESTIMATES): " + ", ".join(sorted(KNOWN_ESTIMATES - found)))


def number_texts(source: str) -> int:
    """How many places in ``source`` format a number into text: an f-string field with a
    format spec (``{x:.2f}``), or a call to one of profkit.fmt's ``fmt_``/``format_`` functions."""
    found = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            found += 1
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            found += name.startswith(("fmt_", "format_"))
    return found


def test_the_number_text_check_sees_a_format_spec_and_a_fmt_call():
    assert number_texts("text = f'{speedup:.2f}x on {n} items'") == 1
    assert number_texts("text = 'took ' + fmt_seconds(wall)") == 1
    assert number_texts("out = {'speedup': ratio, 'mode': f'{mode}:{workers}'}") == 0


def test_analysis_formats_no_number_into_text():
    """Analysis returns facts and render words them: no module of analysis/ formats a number."""
    found = {module: n for module, path in modules().items() if _under(module, "profkit.analysis")
             and (n := number_texts(path.read_text(encoding="utf-8")))}
    assert not found, f"analysis modules that format numbers into text (how many places): {found}"
