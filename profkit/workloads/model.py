"""The Workload model and the decorator that registers a plain function."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from typing import Any


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
    task: Callable[[Any], Any]
    items: Sequence[Any] | Callable[[], Sequence[Any]]
    description: str = ""
    context: Callable[[], ContextManager[Any]] | None = None
    line_functions: tuple[Callable[..., Any], ...] = field(default_factory=tuple)

    def resolve_items(self) -> list[Any]:
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
    items: Sequence[Any] | Callable[[], Sequence[Any]],
    *,
    name: str | None = None,
    description: str | None = None,
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Register a module-level function as a workload over ``items``.

    Returns the function itself, not a wrapper, so pools still pickle it by
    reference. The workload is stored on the function as ``__profkit_workload__``.
    """

    def register(task: Callable[[Any], Any]) -> Callable[[Any], Any]:
        doc = (task.__doc__ or "").strip().splitlines()
        task.__profkit_workload__ = Workload(  # type: ignore[attr-defined]
            name=name or task.__name__,
            task=task,
            items=items,
            description=description if description is not None else (doc[0] if doc else ""),
        )
        return task

    return register
