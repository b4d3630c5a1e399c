"""The run record: what a run holds in memory is what run.json gives back."""

from __future__ import annotations

import json
from pathlib import Path

from profkit.model import Status
from profkit.pipeline import build_run
from profkit.run import Run, load
from tests.unit.test_runner_fake import fakes, run  # noqa: F401 - the fixture is used by name

__all__ = ["fakes"]


def saved_run(tmp_path: Path) -> tuple[Run, Run]:
    """A run of the fake executors, built and saved, and the same run loaded back."""
    made = build_run(run())
    made.save(tmp_path / "run")
    return made, load(tmp_path / "run")


def test_status_is_an_enum_until_the_json_boundary(fakes, tmp_path):  # noqa: F811
    made, loaded = saved_run(tmp_path)
    for record in (made, loaded):
        assert record.meta["status"] == {"fake_ref": Status.OK, "fake": Status.OK}
        assert all(type(s) is Status for s in record.meta["status"].values())
        assert all(type(m["status"]) is Status for m in record.analysis["modes"].values())
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["status"] == {"fake_ref": "ok", "fake": "ok"}
    assert all(type(m["status"]) is str for m in stored["analysis"]["modes"].values())


def test_an_unknown_status_in_run_json_is_refused_in_one_line(fakes, tmp_path):  # noqa: F811
    from profkit.errors import StoreError

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
