"""Compaction: closed partitions become a few files holding exactly the same records; events batches
merge only once built; a crash at any step loses nothing and recovery leaves no duplicate."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from streamloop.core.compaction import STAGING, LakeFiles, compact, recover
from streamloop.core.lake import Lake

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
OLD = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)       # a closed partition
TODAY = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)     # still open


def land(lake: Lake, kind: str, count: int, at: datetime, prefix: str, per_file: int = 3) -> list[str]:
    batch_ids = []
    for number in range(count):
        batch_id = f"{prefix}{number:03d}"
        raws = [json.dumps({"event_id": f"{batch_id}-{i}"}) for i in range(per_file)]
        lake.write_records(kind, raws, source="test", received_at=at, batch_id=batch_id,
                           reasons=["bad"] * per_file if kind != "events" else None)
        batch_ids.append(batch_id)
    return batch_ids


def records(lake: Lake, kind: str) -> Counter:
    """Every visible record (what a full-refresh reader sees) by its key, with how often it appears."""
    found = Counter()
    for path in lake.files(kind):
        for row in pq.read_table(path).to_pylist():
            found[(row["batch_id"], row["record_index"], row["raw"])] += 1
    return found


def names(lake: Lake, kind: str) -> list[str]:
    return sorted(path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1] for path in lake.files(kind))


def test_a_closed_partition_becomes_one_file_with_the_same_records_and_an_open_one_is_left(tmp_path):
    lake = Lake(tmp_path / "lake")
    land(lake, "rejected", 6, OLD, "old")
    land(lake, "rejected", 2, TODAY, "new")
    before = records(lake, "rejected")
    report = compact(lake, processed=None, now=NOW)
    assert records(lake, "rejected") == before and set(before.values()) == {1}
    assert [n.split("/")[0] for n in names(lake, "rejected")] == ["received_date=2026-12-02"] + ["received_date=2026-12-04"] * 2
    assert names(lake, "rejected")[0].split("/")[1].startswith("compacted-")
    assert [(c.kind, c.received_date, len(c.inputs), len(c.outputs), c.records) for c in report.compacted] == [
        ("rejected", "2026-12-02", 6, 1, 18)]
    assert report.files_removed == 5
    # compacting again changes nothing: one file is already as compact as it gets
    assert compact(lake, processed=None, now=NOW).compacted == []
    # the reason column survives
    assert {row["reason"] for row in pq.read_table(lake.files("rejected")[0]).to_pylist()} == {"bad"}


def test_event_batches_are_compacted_only_once_the_warehouse_has_built_them(tmp_path):
    lake = Lake(tmp_path / "lake")
    built = set(land(lake, "events", 4, OLD, "built"))
    land(lake, "events", 1, OLD, "late")  # a back-filled batch the warehouse has not read yet
    report = compact(lake, processed=lambda day: built if day == "2026-12-02" else set(), now=NOW)
    files = names(lake, "events")
    assert len(files) == 2 and files[0] == "received_date=2026-12-02/batch-late000.parquet"
    assert files[1].startswith("received_date=2026-12-02/compacted-")
    assert report.compacted[0].records == 12
    assert report.skipped == {"batches not yet built": 1}
    # nothing built yet (no warehouse): nothing compacted
    fresh = Lake(tmp_path / "fresh")
    land(fresh, "events", 3, OLD, "b")
    assert compact(fresh, processed=None, now=NOW).compacted == []


def test_a_late_batch_merges_with_the_earlier_compacted_file_and_a_relanded_batch_is_kept_once(tmp_path):
    lake = Lake(tmp_path / "lake")
    land(lake, "rejected", 3, OLD, "a")
    compact(lake, processed=None, now=NOW)
    before = records(lake, "rejected")
    land(lake, "rejected", 1, OLD, "a")          # a retried batch: the same batch id and records again
    land(lake, "rejected", 1, OLD, "z")          # a genuinely new late batch
    compact(lake, processed=None, now=NOW)
    after = records(lake, "rejected")
    assert set(after.values()) == {1}
    assert set(after) == set(before) | {("z000", i, json.dumps({"event_id": f"z000-{i}"})) for i in range(3)}
    assert len(lake.files("rejected")) == 1


def test_outputs_are_split_at_the_row_limit(tmp_path):
    lake = Lake(tmp_path / "lake")
    land(lake, "rejected", 5, OLD, "a", per_file=4)
    report = compact(lake, processed=None, now=NOW, max_rows_per_file=7)
    assert [pq.read_metadata(p).num_rows for p in lake.files("rejected")] == [7, 7, 6]
    assert report.compacted[0].records == 20


class CrashingFiles(LakeFiles):
    """Real file operations that stop dead (like a killed process) at the n-th change to the lake."""

    def __init__(self, lake, crash_at: int | None):
        super().__init__(lake)
        self.crash_at, self.changes = crash_at, 0

    def _change(self):
        self.changes += 1
        if self.changes == self.crash_at:
            raise SystemExit(f"crash at change {self.changes}")

    def write_bytes(self, path, data):
        self._change()
        super().write_bytes(path, data)

    def move(self, source, destination):
        self._change()
        super().move(source, destination)

    def delete(self, path):
        self._change()
        super().delete(path)


def test_a_crash_at_any_step_loses_no_record_and_recovery_leaves_each_exactly_once(tmp_path):
    template = Lake(tmp_path / "template")
    land(template, "rejected", 4, OLD, "a")
    compact(template, processed=None, now=NOW)
    land(template, "rejected", 3, OLD, "b")   # partition: one compacted file + three small ones
    original = records(template, "rejected")
    shutil.copytree(tmp_path / "template", tmp_path / "probe")
    probe = Lake(tmp_path / "probe")
    clean = CrashingFiles(probe, None)
    compact(probe, processed=None, now=NOW, files=clean)
    assert clean.changes >= 6  # stage, journal, move, 4 deletes, journal delete
    for crash_at in range(1, clean.changes + 1):
        root = tmp_path / f"crash{crash_at}"
        shutil.copytree(tmp_path / "template", root)
        lake = Lake(root)
        # WHEN the process dies at this change
        with pytest.raises(SystemExit):
            compact(lake, processed=None, now=NOW, files=CrashingFiles(lake, crash_at))
        # THEN every record is still visible (perhaps twice, never zero times)
        seen = records(lake, "rejected")
        assert set(seen) == set(original), crash_at
        # AND the next run recovers: each record exactly once, nothing left in staging
        compact(lake, processed=None, now=NOW)
        assert records(lake, "rejected") == original, crash_at
        assert not (root / STAGING).exists() or not any(p.is_file() for p in (root / STAGING).rglob("*")), crash_at


def test_recover_drops_staged_files_without_a_journal(tmp_path):
    lake = Lake(tmp_path / "lake")
    stray = tmp_path / "lake" / STAGING / "events" / "received_date=2026-12-02" / "compacted-x-000.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"half")
    assert recover(lake) == 0 and not stray.exists()


@mock_aws
def test_compaction_on_an_s3_lake(monkeypatch):
    monkeypatch.setenv("STREAMLOOP_AWS_REGION", "us-east-1")
    from streamloop.core.settings import get_settings

    get_settings.cache_clear()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="lake")
    lake = Lake("s3://lake/prod")
    land(lake, "rejected", 4, OLD, "s")
    before = records_s3(lake)
    report = compact(lake, processed=None, now=NOW)
    assert report.compacted[0].records == 12
    keys = lake.files("rejected")
    assert len(keys) == 1 and "/rejected/received_date=2026-12-02/compacted-" in keys[0]
    assert records_s3(lake) == before
    assert LakeFiles(lake).list(f"{lake.root}/{STAGING}") == []
    get_settings.cache_clear()


def records_s3(lake: Lake) -> Counter:
    files = LakeFiles(lake)
    found = Counter()
    for path in lake.files("rejected"):
        for row in files.read_table(path).to_pylist():
            found[(row["batch_id"], row["record_index"])] += 1
    return found


def test_the_partition_cutoff_waits_for_the_grace_period(tmp_path):
    lake = Lake(tmp_path / "lake")
    yesterday = NOW - timedelta(days=1)
    land(lake, "rejected", 2, yesterday, "y")
    # 00:30 the next day, with one hour's grace: yesterday is not closed yet; at 01:30 it is
    assert compact(lake, processed=None, now=datetime(2026, 12, 4, 0, 30, tzinfo=UTC)).compacted == []
    assert len(compact(lake, processed=None, now=datetime(2026, 12, 4, 1, 30, tzinfo=UTC)).compacted) == 1
