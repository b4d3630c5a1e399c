"""The analysis's fact records read back from run.json: the verdict's headline, the advice,
the recommendation's reason, the classification and item-size cards, each prediction's
flattening, each mode's memory limit and bound, the warnings and the notes. Render words
them (:mod:`profkit.render.text`)."""

from __future__ import annotations

from typing import Any

from profkit.analysis.memory import MemoryLimit
from profkit.analysis.notes import BoundKind, GranularityFacts, RunNote
from profkit.analysis.prediction import Flattening
from profkit.analysis.verdict import Advice, ClassFacts, Headline, Reason
from profkit.record import RecordError, from_json


def read_facts(analysis: dict[str, Any]) -> None:
    """Turn the fact records of a parsed run.json ``analysis`` back into records, in place;
    :class:`profkit.record.RecordError` names the first field that is not what it should be."""
    for key in ("notes", "warnings"):
        notes = analysis.get(key)
        if isinstance(notes, list):
            analysis[key] = [from_json(RunNote, n, f"analysis.{key}[{i}]") if isinstance(n, dict)
                             else n for i, n in enumerate(notes)]
    grain = analysis.get("granularity")
    if isinstance(grain, dict) and isinstance(grain.get("facts"), dict):
        grain["facts"] = from_json(GranularityFacts, grain["facts"], "analysis.granularity.facts")
    for mode, entry in (analysis.get("modes") or {}).items():
        bounds = entry.get("bounds") if isinstance(entry, dict) else None
        if isinstance(bounds, dict) and isinstance(bounds.get("bound_kind"), str):
            try:
                bounds["bound_kind"] = BoundKind(bounds["bound_kind"])
            except ValueError:
                raise RecordError(f"analysis.modes.{mode}.bounds.bound_kind", "a bound kind",
                                  bounds["bound_kind"]) from None
    if isinstance(analysis.get("verdict"), dict):
        analysis["verdict"] = from_json(Headline, analysis["verdict"], "analysis.verdict")
    advice = analysis.get("advice")
    if isinstance(advice, list):
        analysis["advice"] = [from_json(Advice, a, f"analysis.advice[{i}]") if isinstance(a, dict)
                              else a for i, a in enumerate(advice)]
    rec = analysis.get("recommendation")
    if isinstance(rec, dict) and isinstance(rec.get("reason"), dict):
        rec["reason"] = from_json(Reason, rec["reason"], "analysis.recommendation.reason")
    card = analysis.get("classification")
    if isinstance(card, dict) and isinstance(card.get("facts"), dict):
        card["facts"] = from_json(ClassFacts, card["facts"], "analysis.classification.facts")
    for mode, p in ((analysis.get("prediction") or {}).get("modes") or {}).items():
        if isinstance(p, dict) and isinstance(p.get("flattening"), dict):
            p["flattening"] = from_json(Flattening, p["flattening"],
                                        f"analysis.prediction.modes.{mode}.flattening")
    for mode, m in ((analysis.get("memory") or {}).get("modes") or {}).items():
        if isinstance(m, dict) and isinstance(m.get("limit"), dict):
            m["limit"] = from_json(MemoryLimit, m["limit"], f"analysis.memory.modes.{mode}.limit")
