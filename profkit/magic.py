"""IPython and Jupyter: ``%load_ext profkit`` registers ``%profkit`` and ``%%profkit``.

- ``%profkit TARGET [options]``: as ``profkit profile TARGET [options]``.
- ``%profkit -f func -i items_expr [options]``: ``func`` and ``items_expr`` are
  evaluated in the user's namespace, so a function defined in the notebook works.
- ``%%profkit -i items_expr [options]``: the cell is the body of ``profkit_cell(item)``
  (its last expression is the result); the function is left in the namespace.

Each returns the :class:`~profkit.run.Run` (shown inline through
``_repr_html_``) and prints the run folder (not with ``--quiet``). A mistake raises IPython's
UsageError: one line, no traceback.
"""

from __future__ import annotations

import argparse
import ast
import shlex
import sys
from typing import TYPE_CHECKING, NoReturn

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from profkit.errors import ProfkitError

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from profkit.model import Task
    from profkit.run import Run
    from profkit.workloads.model import Workload

#: The name ``%%profkit`` gives the cell's function in the user's namespace.
CELL_FUNCTION = "profkit_cell"


class _Parser(argparse.ArgumentParser):
    """argparse that raises IPython's UsageError instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise IPythonUsageError(f"%profkit: {message} (see %profkit -h)")


def build_parser() -> argparse.ArgumentParser:
    """``profkit profile``'s options, TARGET optional, plus -f, -i and --name."""
    from profkit.cli.profile import add_arguments

    parser = _Parser(prog="%profkit", description="Profile a workload, or a function or cell "
                     "defined in this notebook, in each mode; return the Run.")
    add_arguments(parser, target_required=False)
    notebook = parser.add_argument_group("notebook")
    notebook.add_argument("-f", "--function", metavar="FUNC",
                          help="a function from the user's namespace, the task(item) to map")
    notebook.add_argument("-i", "--items", metavar="EXPR",
                          help="a Python expression evaluated in the user's namespace: the items")
    notebook.add_argument("--name", help="the workload's name in the report and the run folder "
                          "(default: the function's name)")
    return parser


def cell_function(shell: InteractiveShell, cell: str) -> Task:
    """Compile ``cell`` as the body of ``profkit_cell(item)``, its last expression returned."""
    source: str = shell.transform_cell(cell)  # type: ignore[no-untyped-call]
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise IPythonUsageError(f"%%profkit: the cell has a SyntaxError at line {exc.lineno}: "
                                f"{exc.msg}") from None
    if not tree.body:
        raise IPythonUsageError("%%profkit: the cell is empty: write the body of task(item)")
    body = tree.body
    last = body[-1]
    if isinstance(last, ast.Expr):
        body[-1] = ast.copy_location(ast.Return(value=last.value), last)
    module = ast.parse(f"def {CELL_FUNCTION}(item):\n    pass\n")
    function = module.body[0]
    assert isinstance(function, ast.FunctionDef)
    function.body = body
    ast.fix_missing_locations(module)
    # The cell's source goes to linecache, so line_profiler and the report can show its lines.
    filename: str = shell.compile.cache(source)  # type: ignore[no-untyped-call]
    code = compile(module, filename, "exec")
    exec(code, shell.user_ns)  # noqa: S102 - the user's own cell, as IPython would run it
    fn: Task = shell.user_ns[CELL_FUNCTION]
    return fn


def _evaluate(shell: InteractiveShell, expr: str, what: str) -> object:
    try:
        return eval(expr, shell.user_global_ns, shell.user_ns)  # noqa: S307 - the user's expression
    except Exception as exc:  # noqa: BLE001 - any error in the user's expression
        raise IPythonUsageError(f"%profkit: {what} {expr!r} failed: {type(exc).__name__}: {exc}") \
            from None


def notebook_workload(fn: object, items: object, name: str | None, what: str) -> Workload:
    """A Workload over a function and items taken from the user's namespace."""
    from profkit.workloads.model import Workload

    if not callable(fn):
        raise IPythonUsageError(f"%profkit: {what} is a {type(fn).__name__}, not a function")
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise IPythonUsageError(f"%profkit: -i must give a list or other iterable of items, got "
                                f"{type(items).__name__}")
    doc = (getattr(fn, "__doc__", None) or "").strip().splitlines()
    return Workload(name=name or str(getattr(fn, "__name__", "task")), task=fn, items=list(items),
                    description=doc[0] if doc else "defined in the notebook")


@magics_class
class ProfkitMagics(Magics):
    """``%profkit`` and ``%%profkit``."""

    @line_cell_magic  # type: ignore[untyped-decorator]
    def profkit(self, line: str, cell: str | None = None) -> Run | None:
        """Profile in each mode and return the Run: %profkit TARGET | -f FUNC -i EXPR; %%profkit -i EXPR."""
        parser = build_parser()
        try:
            args = parser.parse_args(shlex.split(line))
        except SystemExit:  # -h printed the help
            return None
        try:
            return self._run(args, cell)
        except ProfkitError as exc:
            raise IPythonUsageError(f"profkit: {exc}") from None

    def _run(self, args: argparse.Namespace, cell: str | None) -> Run:
        from profkit.cli.profile import prepare, progress_plan
        from profkit.cli.progress import make_progress
        from profkit.pipeline import profile

        shell = self.shell
        assert shell is not None
        workload = None
        label = None
        if cell is not None:
            if args.target or args.function:
                raise IPythonUsageError("%%profkit: the cell is the task: give -i ITEMS, "
                                        "not a TARGET or -f")
            if not args.items:
                raise IPythonUsageError("%%profkit: give the items: %%profkit -i EXPR")
            fn: object = cell_function(shell, cell)
            items = _evaluate(shell, args.items, "-i")
            workload = notebook_workload(fn, items, args.name or "cell", "the cell")
            label = f"%%profkit -i {args.items}"
        elif args.function:
            if args.target:
                raise IPythonUsageError("%profkit: give a TARGET or -f FUNC, not both")
            if not args.items:
                raise IPythonUsageError("%profkit: -f needs the items too: -i EXPR")
            fn = _evaluate(shell, args.function, "-f")
            items = _evaluate(shell, args.items, "-i")
            workload = notebook_workload(fn, items, args.name, f"-f {args.function}")
            label = f"%profkit -f {args.function} -i {args.items}"
        elif args.items:
            raise IPythonUsageError("%profkit: -i goes with -f FUNC (or %%profkit)")
        elif not args.target:
            raise IPythonUsageError("%profkit: give a TARGET (a workload), or -f FUNC -i ITEMS")

        prepared = prepare(args, workload)
        out = prepared.out
        progress = make_progress(args.quiet, progress_plan(prepared.options), stream=sys.stderr,
                                 title=f"profkit {prepared.workload.name}")
        try:
            run = profile(prepared.workload, out=out, progress=progress,
                          target=label or args.target, options=prepared.options)
        finally:
            progress.done()
        for mode in run.failed_modes:
            error = run.meta.errors.get(mode) or f"{mode}: failed"
            print(f"profkit: {error}", file=sys.stderr)
        if args.json:
            from profkit.render import render

            print(render(run, "json"))
        if not args.quiet:
            print(f"profkit: run folder {out} (report: {out / 'index.html'})")
        if args.open:
            import webbrowser

            webbrowser.open((out / "index.html").resolve().as_uri())
        return run


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext profkit``."""
    ipython.register_magics(ProfkitMagics)  # type: ignore[no-untyped-call]
