"""The Workload model and the decorator that registers a plain function."""

from __future__ import annotations

import contextlib
import inspect
import reprlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from types import FunctionType
from typing import TypeAlias, TypeVar

from profkit.model import Task

#: A workload's items: a sequence, or a zero-argument callable that returns one.
Items: TypeAlias = Sequence[object] | Callable[[], Sequence[object]]
#: A task the ``@workload`` decorator registers and returns unchanged.
F = TypeVar("F", bound=Task)


@dataclass
class Workload:
    """A module-level ``task(item)`` mapped over ``items``.

    ``items`` is a sequence or a zero-argument callable; the callable is
    evaluated inside ``context`` so that it can use a resource (a server's
    address, say) that the context sets up.
    ``line_items`` caps how many items the line_profiler pass runs (it costs
    about 9x on tight loops); ``None`` lets the runner pick by time budget.
    """

    name: str
    task: Task
    items: Items
    description: str = ""
    context: Callable[[], ContextManager[object]] | None = None
    line_functions: tuple[Callable[..., object], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        from profkit.errors import WorkloadError

        if not isinstance(self.name, str) or not self.name.strip():
            raise WorkloadError(f"a Workload's name must be non-empty text, got {self.name!r}")
        if not callable(self.task):
            raise WorkloadError(f"workload {self.name!r}: its task {reprlib.repr(self.task)} (of type "
                                f"{type(self.task).__name__}) is not a function: give the function "
                                "to map over the items")

    def resolve_items(self) -> list[object]:
        """The items as a non-empty list; call this inside :meth:`session`.

        Items that cannot be had (the callable raises, or gives no iterable) or that are
        empty are bad input: WorkloadError, one line, before any mode runs.
        """
        from profkit.errors import WorkloadError

        where = f"workload {self.name!r}"
        if callable(self.items):
            try:
                items = self.items()
            except Exception as exc:  # noqa: BLE001 - the user's callable may raise anything
                raise WorkloadError(f"{where}: its items callable raised {type(exc).__name__}: "
                                    f"{_first_line(exc)}; fix the callable") from exc
        else:
            items = self.items
        if isinstance(items, (str, bytes)):
            raise WorkloadError(f"{where}: its items are a {type(items).__name__}, not a list: "
                                "give a list (or a callable returning one)")
        try:
            resolved = list(items)
        except TypeError:
            raise WorkloadError(f"{where}: its items are a {type(items).__name__}, not a list: "
                                "give a list (or a callable returning one)") from None
        except Exception as exc:  # noqa: BLE001 - a generator may raise anything
            raise WorkloadError(f"{where}: reading its items raised {type(exc).__name__}: "
                                f"{_first_line(exc)}; fix the items") from exc
        if not resolved:
            raise WorkloadError(f"{where} has no items to map over: give it at least one item")
        return resolved

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Set up (and afterwards tear down) what the task needs, if anything."""
        if self.context is None:
            yield
            return
        with self.context():
            yield


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "(no message)"


def workload(
    items: Items,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Callable[[F], F]:
    """Register a module-level function as a workload over ``items``.

    Returns the function itself, not a wrapper, so pools still pickle it by
    reference. The workload is stored on the function as ``__profkit_workload__``.
    """

    from profkit.errors import WorkloadError

    if _takes_an_item(items):
        raise WorkloadError("@profkit.workload needs the items: write @profkit.workload(items=[...]) "
                            f"above {getattr(items, '__name__', 'the function')}, or pass a "
                            "zero-argument function that returns them")

    def register(task: F) -> F:
        if not callable(task) or isinstance(task, type):
            raise WorkloadError(f"@profkit.workload decorates a function, not "
                                f"{reprlib.repr(task)} (of type {type(task).__name__})")
        doc = (task.__doc__ or "").strip().splitlines()
        task.__profkit_workload__ = Workload(  # type: ignore[attr-defined]
            name=name or task.__name__,
            task=task,
            items=items,
            description=description if description is not None else (doc[0] if doc else ""),
        )
        return task

    return register


def _takes_an_item(items: object) -> bool:
    """True for a function that needs an argument: the task, under a bare ``@workload``."""
    if not isinstance(items, FunctionType):
        return False
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in inspect.signature(items).parameters.values())
