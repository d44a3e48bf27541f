"""The lake's write API: a batch lands once whatever the retries, durably (fsync of file and folder)."""
from __future__ import annotations

import os
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from streamloop.core import lake as lake_module
from streamloop.core.lake import Lake

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)
BATCH = {"events": [(0, '{"event_id": "a"}', None), (2, '{"event_id": "b"}', None)],
         "rejected": [(1, '{"event_id": 7}', "event_id: must be string")],
         "ignored": [(3, '{"type": "page"}', "page messages are not collected")]}


def rows(lake: Lake, kind: str) -> list[tuple]:
    return [(r["batch_id"], r["record_index"], r["raw"], r.get("reason")) for f in lake.files(kind)
            for r in pq.read_table(f).to_pylist()]


def test_a_batch_lands_each_record_at_its_position_and_a_retry_rewrites_the_same_files(tmp_path):
    lake = Lake(tmp_path)
    first = lake.write_batch(BATCH, source="api", received_at=AT, batch_id="b1")
    again = lake.write_batch(BATCH, source="api", received_at=AT, batch_id="b1")
    assert first == again and len(first) == 3
    assert rows(lake, "events") == [("b1", 0, '{"event_id": "a"}', None), ("b1", 2, '{"event_id": "b"}', None)]
    assert rows(lake, "rejected") == [("b1", 1, '{"event_id": 7}', "event_id: must be string")]
    assert rows(lake, "ignored") == [("b1", 3, '{"type": "page"}', "page messages are not collected")]


def test_every_file_and_its_folder_are_fsynced_before_the_write_returns(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(lake_module.os, "fsync", fsync)
    paths = Lake(tmp_path).write_batch(BATCH, source="api", received_at=AT, batch_id="b2")
    for path in paths:
        assert any(s.startswith(path + ".tmp-") for s in synced), path  # the bytes, before the rename
        assert os.path.dirname(path) in synced  # the rename
    assert str(tmp_path / "events") in synced  # new folders' entries too


def test_a_failed_write_raises_and_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(lake_module.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        Lake(tmp_path).write_batch(BATCH, source="api", received_at=AT, batch_id="b3")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
