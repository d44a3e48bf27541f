"""Re-ingesting a file lands nothing again, even after compaction merged (and deleted) the batch files that
the first ingest wrote: ingest keeps a durable ledger of the batches it landed (streamloop.core.ingest)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from support.home import use_home
from support.ingest import ingest_event

from streamloop.core.compaction import LakeFiles, compact
from streamloop.core.ingest import ingest_paths
from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    yield use_home(monkeypatch, tmp_path / "home")
    get_settings.cache_clear()


def event(event_id: str, **overrides) -> dict:
    return ingest_event(event_id, **{"event_type": "app_open", "properties": {}, **overrides})


def bulk_file(folder: Path, name: str) -> Path:
    """Three valid events, a duplicate and a reject."""
    lines = [event(f"{name}-1"), event(f"{name}-2"), event(f"{name}-3"), event(f"{name}-1"),
             event(f"{name}-bad", event_type="teleport")]
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    return path


def rows(lake: Lake, kind: str) -> list[tuple[str, int]]:
    files = LakeFiles(lake)
    return sorted((r["batch_id"], r["record_index"]) for path in lake.files(kind)
                  for r in files.read_table(path).select(["batch_id", "record_index"]).to_pylist())


def compact_everything(lake: Lake) -> None:
    """Compaction as the daily job runs it once the warehouse built every batch of the partition."""
    built = {r[0] for r in rows(lake, "events")}
    report = compact(lake, processed=lambda day: built, now=datetime.now(UTC) + timedelta(days=1, hours=2))
    assert {c.kind for c in report.compacted} == {"events", "rejected"}
    assert all("/compacted-" in p for kind in ("events", "rejected") for p in lake.files(kind))


def test_reingesting_after_compaction_lands_nothing_and_counts_duplicates(tmp_path):
    lake = Lake(get_settings().lake_root)
    first, second = bulk_file(tmp_path, "a"), bulk_file(tmp_path, "b")
    ingest_paths([str(first), str(second)])
    compact_everything(lake)
    before = {kind: rows(lake, kind) for kind in ("events", "rejected")}
    files_before = {kind: lake.files(kind) for kind in ("events", "rejected")}

    again = ingest_paths([str(first)])

    assert again.files_written == []
    assert {kind: lake.files(kind) for kind in ("events", "rejected")} == files_before
    assert {kind: rows(lake, kind) for kind in ("events", "rejected")} == before
    total = again.total
    # every valid record is a duplicate of one already landed; the reject is still reported with its reason
    assert (total.received, total.accepted, total.duplicates, total.rejected) == (5, 0, 4, 1)
    assert again.files[0].already_landed and "already in the lake" in again.render()


def test_the_ledger_heals_batches_landed_before_it_existed(tmp_path):
    # GIVEN a batch in the lake with no ledger entry (landed by a version without the ledger, or a crash
    # between the lake write and the ledger write)
    lake = Lake(get_settings().lake_root)
    first, second = bulk_file(tmp_path, "a"), bulk_file(tmp_path, "b")
    ingest_paths([str(first), str(second)])
    ledger = LakeFiles(lake).list(f"{lake.root}/_landed")
    assert len(ledger) == 4  # events and rejects of two files
    for path in ledger:
        LakeFiles(lake).delete(path)
    # WHEN the file is ingested again before compaction, its batch is found by name and recorded
    assert ingest_paths([str(first)]).files_written == []
    compact_everything(lake)
    # THEN re-ingesting it after compaction still lands nothing
    assert ingest_paths([str(first)]).files_written == []


def test_a_changed_file_still_lands_after_compaction(tmp_path):
    lake = Lake(get_settings().lake_root)
    first, second = bulk_file(tmp_path, "a"), bulk_file(tmp_path, "b")
    ingest_paths([str(first), str(second)])
    compact_everything(lake)
    with first.open("a") as handle:
        handle.write(json.dumps(event("a-4")) + "\n")

    summary = ingest_paths([str(first)])

    assert len(summary.files_written) == 2 and summary.total.accepted == 4


@mock_aws
def test_reingesting_after_compaction_on_an_s3_lake(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMLOOP_AWS_REGION", "us-east-1")
    get_settings.cache_clear()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="lake")
    lake = Lake("s3://lake/prod")
    first, second = bulk_file(tmp_path, "a"), bulk_file(tmp_path, "b")
    ingest_paths([str(first), str(second)], lake=lake)
    compact_everything(lake)
    before = {kind: lake.files(kind) for kind in ("events", "rejected")}

    again = ingest_paths([str(first)], lake=lake)

    assert again.files_written == [] and {kind: lake.files(kind) for kind in ("events", "rejected")} == before
    assert (again.total.accepted, again.total.duplicates) == (0, 4)
    # the ledger holds no record and no file name: only batch ids
    for path in LakeFiles(lake).list(f"{lake.root}/_landed"):
        assert "a-1" not in LakeFiles(lake).read_text(path) and "a.jsonl" not in LakeFiles(lake).read_text(path)
