"""A long frame goes to parquet a row group at a time and reads back the same."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from profkit import store
from profkit.frames import COLUMNS, empty


def test_a_long_tasks_frame_round_trips_in_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "PARQUET_ROWS", 1000)
    n = 2500
    frame = empty("tasks")
    data = {col: frame[col].tolist() for col in frame.columns}
    data.update({"mode": ["sequential"] * n, "workers": [1] * n, "sweep": [False] * n,
                 "item": list(range(n)), "item_repr": [str(i) if i % 7 == 0 else "" for i in range(n)],
                 "start_s": [i * 1e-6 for i in range(n)], "end_s": [(i + 1) * 1e-6 for i in range(n)],
                 "duration_s": [1e-6] * n, "cpu_s": [5e-7] * n, "queued_s": [1e-7] * n, "pid": [42] * n,
                 "thread": ["profkit-sequential"] * n, "worker": ["main"] * n,
                 "item_bytes": [float("nan")] * n, "result_bytes": [5.0] * n,
                 "result_repr": [""] * n, "ok": [i != 3 for i in range(n)], "output": [""] * n,
                 "output_bytes": [0] * n, "error": ["boom" if i == 3 else "" for i in range(n)]})
    frame = pd.DataFrame(data).astype({c: d for c, (d, _) in COLUMNS["tasks"].items()})
    path = tmp_path / "tasks.parquet"
    store._write_parquet(frame, path)
    assert pq.ParquetFile(path).num_row_groups == 3
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, frame)


@pytest.mark.parametrize("rows", [0, 10])
def test_a_short_frame_is_one_write(tmp_path, rows):
    frame = pd.DataFrame({"a": range(rows)})
    store._write_parquet(frame, tmp_path / "f.parquet")
    assert len(pd.read_parquet(tmp_path / "f.parquet")) == rows
