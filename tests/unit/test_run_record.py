"""The run record: what a run holds in memory is what run.json gives back."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from profkit import store
from profkit.analysis.gc import GcGeneration, gc_summary
from profkit.analysis.memory import summarise
from profkit.analysis.native import native_threads
from profkit.analysis.records import Analysis
from profkit.analysis.verdict import AdviceKind, Cause, ModeFacts, classify, native_classification
from profkit.codec import RecordError, from_json, to_json
from profkit.errors import StoreError
from profkit.model import NativePool, RoundInfo, Status, Traits, WorkerLabel
from profkit.pipeline import build_run
from profkit.record import ModeMeta, RunMeta, WorkloadMeta
from profkit.run import Run, load
from profkit.store import FORMAT_VERSION
from tests.fixtures.records import mode_meta, run_meta
from tests.unit.test_runner_fake import fakes, run  # noqa: F401 - the fixture is used by name

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["fakes"]


def saved_run(tmp_path: Path) -> tuple[Run, Run]:
    """A run of the fake executors, built and saved, and the same run loaded back."""
    made = build_run(run())
    made.save(tmp_path / "run")
    return made, load(tmp_path / "run")


def test_status_is_an_enum_until_the_json_boundary(fakes, tmp_path):  # noqa: F811
    made, loaded = saved_run(tmp_path)
    for record in (made, loaded):
        assert record.meta.status == {"fake_ref": Status.OK, "fake": Status.OK}
        assert all(type(s) is Status for s in record.meta.status.values())
        assert all(type(m.status) is Status for m in record.analysis.modes.values())
        causes = [m.cause for m in record.analysis.modes.values() if m.cause is not None]
        assert causes and all(type(c) is Cause for c in causes)
        assert all(type(a.kind) is AdviceKind for a in record.analysis.advice)
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["status"] == {"fake_ref": "ok", "fake": "ok"}
    assert all(type(m["status"]) is str for m in stored["analysis"]["modes"].values())


def test_an_unknown_status_in_run_json_is_refused_in_one_line(fakes, tmp_path):  # noqa: F811
    saved_run(tmp_path)
    file = tmp_path / "run" / "run.json"
    data = json.loads(file.read_text())
    data["status"]["fake"] = "exploded"
    file.write_text(json.dumps(data))
    try:
        load(tmp_path / "run")
    except StoreError as exc:
        message = str(exc)
    else:
        raise AssertionError("a run.json with an unknown status loaded")
    assert "'exploded'" in message and "\n" not in message and "ok, failed" in message


def test_a_loaded_run_has_the_record_that_was_saved(fakes, tmp_path):  # noqa: F811
    made, loaded = saved_run(tmp_path)
    assert isinstance(loaded.meta, RunMeta)
    assert loaded.meta == made.meta
    assert loaded.meta.modes["fake"].traits == made.meta.modes["fake"].traits
    assert loaded.meta.rounds and all(isinstance(r, RoundInfo) for r in loaded.meta.rounds)
    assert loaded.meta.format_version == FORMAT_VERSION


def test_a_field_of_the_wrong_type_is_refused_in_one_line_naming_it(fakes, tmp_path):  # noqa: F811
    saved_run(tmp_path)
    file = tmp_path / "run" / "run.json"
    data = json.loads(file.read_text())
    data["modes"]["fake"]["workers"] = "two"
    file.write_text(json.dumps(data))
    with pytest.raises(StoreError) as caught:
        load(tmp_path / "run")
    assert "modes.fake.workers should be an integer, not 'two'" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_records_read_back_what_they_write_and_refuse_what_they_do_not():
    traits = Traits(parallel=True, ships_pickles=True, shares_memory=False, shares_gil=False,
                    worker_label=WorkerLabel.PID, honours_chunksize=True)
    meta = RunMeta(workload=WorkloadMeta("w", 3), status={"processes": Status.TIMEOUT},
                   modes={"processes": ModeMeta(workers=2, traits=traits, startup_s=float("nan"),
                                                line_cut_s={"1": 0.25})},
                   rounds=[RoundInfo(round=1, order=["processes"], wall_s=1.0, others_cpu=0.1,
                                     spoiled=False)])
    text = json.loads(json.dumps(meta.to_json()))
    assert text["status"] == {"processes": "timeout"}
    assert text["modes"]["processes"]["startup_s"] is None  # not a finite number: null
    back = RunMeta.from_json(text)
    assert back.modes["processes"].traits.worker_label is WorkerLabel.PID
    assert back == RunMeta(**{**vars(meta), "modes": {"processes": ModeMeta(
        workers=2, traits=traits, startup_s=None, line_cut_s={"1": 0.25})}})
    for path, value, words in [
            (("workload",), None, "workload should be an object, not null"),
            (("workload", "n_items"), True, "workload.n_items should be an integer, not true"),
            (("rounds",), {}, "rounds should be a list of objects, not an object"),
            (("modes", "processes", "line_cut_s", "1"), "x", "modes.processes.line_cut_s.1 "
             "should be a number, not 'x'")]:
        bad = json.loads(json.dumps(text))
        target = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(RecordError, match=re.escape(words)):
            RunMeta.from_json(bad)
    del text["workload"]["name"]
    with pytest.raises(RecordError, match="workload.name should be a string, not missing"):
        RunMeta.from_json(text)


def test_a_loaded_run_has_the_analysis_that_was_saved(fakes, tmp_path):  # noqa: F811
    made, loaded = saved_run(tmp_path)
    assert isinstance(loaded.analysis, Analysis)
    assert loaded.analysis.modes["fake"].overheads is not None and loaded.analysis.verdict
    assert loaded.analysis == made.analysis
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["analysis"] == json.loads(json.dumps(made.analysis.to_json()))
    assert Analysis.from_json(stored["analysis"]) == made.analysis


def test_an_analysis_field_of_the_wrong_type_is_refused_in_one_line_naming_it(
        fakes, tmp_path):  # noqa: F811
    saved_run(tmp_path)
    file = tmp_path / "run" / "run.json"
    for plant, words in [
            (lambda a: a["modes"]["fake"].__setitem__("speedup", "fast"),
             "analysis.modes.fake.speedup should be a number or null, not 'fast'"),
            (lambda a: a["modes"]["fake"].__setitem__("cause", "gremlins"),
             "analysis.modes.fake.cause should be "),
            (lambda a: a["modes"]["fake"].pop("workers"),
             "analysis.modes.fake.workers should be an integer, not missing"),
            (lambda a: a["recommendation"].__setitem__("speedup", "fast"),
             "analysis.recommendation.speedup should be a number, not 'fast'"),
            (lambda a: a.__setitem__("bottlenecks", [{"mode": "fake"}]),
             "analysis.bottlenecks[0].function should be a string, not missing")]:
        data = json.loads(file.read_text())
        plant(data["analysis"])
        bad = tmp_path / "bad"
        if bad.exists():
            shutil.rmtree(bad)
        shutil.copytree(tmp_path / "run", bad)
        (bad / "run.json").write_text(json.dumps(data))
        with pytest.raises(StoreError) as caught:
            load(bad)
        assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_format_3_run_json_loads_with_its_analysis_redone(fakes, tmp_path):  # noqa: F811
    made, _ = saved_run(tmp_path)
    file = tmp_path / "run" / "run.json"
    data = json.loads(file.read_text())
    data["format_version"] = 3
    # format 3 wrote the analysis as a free dict: keys left out when unset, none checked
    old = data["analysis"]
    for entry in old["modes"].values():
        for key in ("crosses_ideal", "paired_rounds", "cause", "chunk_trial"):
            entry.pop(key, None)
        entry["extra"] = {"written": "by an older profkit"}
    del old["program"]
    old["verdict"] = 3
    file.write_text(json.dumps(data))
    loaded = load(tmp_path / "run")
    assert loaded.meta.format_version == 3
    assert loaded.analysis == made.analysis


def test_a_format_3_program_folder_keeps_its_program_facts(fakes, tmp_path):  # noqa: F811
    """A ``profkit run`` folder's facts are the program analysis's JSON in both formats."""
    saved_run(tmp_path)
    file = tmp_path / "run" / "run.json"
    data = json.loads(file.read_text())
    facts = {"command": "app.py", "exit_code": 0, "sites": [{"id": "site1", "tasks": 4}]}
    data.update(format_version=3, kind="program", analysis={"program": facts, "verdict": 3})
    file.write_text(json.dumps(data))
    loaded = load(tmp_path / "run")
    assert loaded.analysis == Analysis(program=facts)


def test_an_older_run_json_loads_with_its_analysis_redone(fakes, tmp_path):  # noqa: F811
    made, _ = saved_run(tmp_path)
    file = tmp_path / "run" / "run.json"
    data = json.loads(file.read_text())
    data["format_version"] = 2
    data["analysis"] = {"modes": {}, "verdict": "written by an older profkit"}
    file.write_text(json.dumps(data))
    loaded = load(tmp_path / "run")
    assert loaded.meta.format_version == 2
    assert loaded.analysis.verdict == made.analysis.verdict
    assert set(loaded.analysis.modes) == {"fake_ref", "fake"}
    assert not loaded.frames["prediction"].empty or made.frames["prediction"].empty
    data["format_version"] = 1
    file.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="format_version 1, from an older profkit"):
        load(tmp_path / "run")


def test_the_json_summary_gives_the_analysis_facts_with_their_words(fakes, tmp_path):  # noqa: F811
    from profkit.render import json_summary
    from profkit.render import text as words

    _, loaded = saved_run(tmp_path)
    a = loaded.analysis
    said = json.loads(json_summary.render(loaded))["analysis"]
    assert a.verdict is not None and said["verdict"] == words.headline(a.verdict)
    assert said["advice"] == [words.advice(x) for x in a.advice]
    assert said["warnings"] + said["notes"] == [words.note(n) for n in a.warnings + a.notes]
    if a.recommendation:
        assert said["recommendation"]["reason"] == words.reason(a.recommendation.reason)
    if a.classification and a.classification.facts:
        card = said["classification"]
        assert card["facts"]["work"] == a.classification.facts.work.value
        assert card["explanation"] == words.classification(a.classification.facts)
    bounds = a.modes["fake"].bounds
    assert bounds is not None and bounds.bound_kind is not None
    assert said["modes"]["fake"]["bounds"]["bound_kind"] == bounds.bound_kind.value
    assert said["modes"]["fake"]["bounds"]["bound_name"] == words.mode_bound(bounds)
    assert said["memory"]["limits"] == words.memory_limits(a.memory)


def test_run_json_is_what_the_saved_and_the_loaded_records_write_byte_for_byte(fakes, tmp_path):  # noqa: F811
    """The analysis steps build their records with the types the schema names (a float field
    holds a float), so writing a record read back from run.json gives the file again."""
    made, loaded = saved_run(tmp_path)
    text = (tmp_path / "run" / "run.json").read_text()
    for record in (made, loaded):
        assert store.to_json({**record.meta.to_json(), "analysis": record.analysis.to_json()}) == text


def _written_again(record: DataclassInstance) -> None:
    """``record`` as JSON, read back by the codec: the same record, and the same text."""
    text = json.dumps(to_json(record))
    back = from_json(type(record), json.loads(text), "record")
    assert back == record
    assert json.dumps(to_json(back)) == text


def test_the_analysis_steps_records_read_back_as_they_were_written():
    """The GC, memory and classification steps' records, each with every part filled in."""
    gc_rows = pd.DataFrame({"mode": ["threads"] * 3, "generation": [0, 0, 2],
                            "duration_s": [0.01, 0.02, 0.25], "collected": [4, 5, 9]})
    tasks = pd.DataFrame({"mode": ["threads"] * 2, "sweep": [False, False], "duration_s": [0.5, 1.0]})
    gc = gc_summary(gc_rows, tasks, "threads")
    assert gc is not None and gc.collections == 3 and gc.share == pytest.approx(0.28 / 1.5)
    assert gc.by_generation == {"0": GcGeneration(2, pytest.approx(0.03), 9), "2": GcGeneration(1, 0.25, 9)}
    _written_again(gc)

    mib = 2**20
    samples = [(t, pid, role, rss * mib) for t, base in ((0.0, 50), (0.1, 1050))
               for pid, role, rss in ((1, "parent", 100), (2, "worker", base), (3, "worker", base))]
    memory = pd.DataFrame([("processes", *s) for s in samples],
                          columns=["mode", "t_s", "pid", "role", "rss_bytes"])
    meta = run_meta({"processes": mode_meta(2)},
                    environment={"memory_available_bytes": 2**31, "cpus_available": 4})
    summary = summarise(memory, meta)
    entry = summary.modes["processes"]
    assert entry.fits == 1 and entry.limited and entry.limit is not None and summary.limited == ["processes"]
    assert [p.pid for p in entry.processes] == [2, 3] and summary.available_bytes == 2**31
    _written_again(summary)

    card = classify(0.97, ModeFacts("threads", 2, speedup=1.0, ci=(0.95, 1.05), shares_gil=True),
                    threads_cores=1.1, queued_share=0.2)
    assert card is not None and card.gil_bound and card.facts is not None
    _written_again(card)
    native = native_threads(1.88, 2, {"sequential": mode_meta(
        native_pools=[NativePool("openblas", "libopenblas", 2)])})
    assert native is not None
    _written_again(native_classification(card, native))
