"""The analysis's fact records read back from run.json: the verdict's headline, the advice,
the recommendation's reason, the classification card, each prediction's flattening and
each mode's memory limit. Render words them (:mod:`profkit.render.text`)."""

from __future__ import annotations

from typing import Any

from profkit.analysis.memory import MemoryLimit
from profkit.analysis.prediction import Flattening
from profkit.analysis.verdict import Advice, ClassFacts, Headline, Reason
from profkit.record import from_json


def read_facts(analysis: dict[str, Any]) -> None:
    """Turn the fact records of a parsed run.json ``analysis`` back into records, in place;
    :class:`profkit.record.RecordError` names the first field that is not what it should be."""
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
