"""The engine's raw result: every mode's measurements, before frames and analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from profkit.model import JSON, ModeResult, Precision, RoundInfo
from profkit.options import Options

if TYPE_CHECKING:
    from profkit.analysis.decision import Stop
    from profkit.workloads.model import Workload


@dataclass
class RawRun:
    """The raw result of the engine, before frames and analysis."""

    workload: Workload
    items: list[object]
    options: Options
    modes: list[ModeResult]
    environment: dict[str, JSON]
    started_at: str
    finished_at: str = ""
    interrupted: bool = False
    rounds: list[RoundInfo] = field(default_factory=list)
    precision: list[Precision] = field(default_factory=list)
    stop_reason: str = ""
    #: how each call of the rounds ended (the main rounds first, then each sweep point's)
    stops: list[Stop] = field(default_factory=list)
