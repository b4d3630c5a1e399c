"""Analysis: pure functions from frames (and run metadata) to a typed record.

``analyse(frames, meta) -> Analysis`` is the entry point (``meta`` is the run's
:class:`profkit.record.RunMeta`): a short sequence of named steps in
:mod:`profkit.analysis.summary` (reference, mode summaries, work kind, schedule bounds,
granularity, facts, prediction). Its result, :class:`profkit.analysis.records.Analysis`, is
what ``run.json`` stores under ``analysis`` and what every renderer reads; the records'
annotations are its schema, checked when a run is loaded. Enums stay enums until run.json.
It holds facts, never sentences: the verdict's headline, the advice, the notes and
the cards are records that :mod:`profkit.render.text` words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profkit.analysis.summary import analyse, prediction_frame


def __getattr__(name: str) -> object:
    """``analyse`` and ``prediction_frame``, imported on first use: the engine imports pure
    helpers from this package (``verdict``, ``stats``) and must not pull pandas into the run's
    parent before the maps."""
    if name in __all__:
        from profkit.analysis import summary

        return getattr(summary, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["analyse", "prediction_frame"]
