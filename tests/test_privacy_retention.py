"""Raw-lake retention deletes only partitions older than the setting; the Dagster job applies it."""
from __future__ import annotations

from datetime import UTC, date, datetime

from orchestration.defs.privacy.jobs import raw_lake_retention
from orchestration.defs.resources import LakeResource
from streamloop.core import clock
from streamloop.core.lake import Lake
from streamloop.core.privacy.retention import apply_retention, expired_partitions


def _land(lake: Lake, day: str, kind: str = "events") -> None:
    lake.write_records(kind, ['{"x": 1}'], source="test", received_at=datetime.fromisoformat(day + "T12:00:00+00:00"),
                       reasons=["bad"] if kind in ("rejected", "ignored") else None)


def test_partitions_older_than_retention_are_deleted_and_newer_kept(tmp_path):
    lake = Lake(tmp_path / "lake")
    for day in ("2025-01-01", "2025-01-30", "2025-01-31"):
        _land(lake, day)
    _land(lake, "2025-01-01", kind="rejected")
    _land(lake, "2025-01-01", kind="ignored")  # raw Segment messages: they name people too
    # 30 days before 2025-03-01 is 2025-01-30: strictly older partitions go
    removed = apply_retention(lake, 30, date(2025, 3, 1))
    assert [r.rsplit("/", 2)[-2:] for r in removed] == [["events", "received_date=2025-01-01"],
                                                        ["ignored", "received_date=2025-01-01"],
                                                        ["rejected", "received_date=2025-01-01"]]
    left = sorted(p.split("received_date=")[1][:10] for p in lake.files("events"))
    assert left == ["2025-01-30", "2025-01-31"] and lake.files("rejected") == [] == lake.files("ignored")
    assert expired_partitions(lake, 0, date(2030, 1, 1)) == []  # 0 keeps everything


def test_the_retention_job_runs_on_the_service_clock(tmp_path, monkeypatch):
    from streamloop.core.settings import get_settings

    monkeypatch.setenv("STREAMLOOP_RAW_LAKE_RETENTION_DAYS", "10")
    get_settings.cache_clear()
    lake = Lake(tmp_path / "lake")
    _land(lake, "2025-01-01")
    _land(lake, "2025-01-20")
    with clock.frozen(datetime(2025, 1, 25, tzinfo=UTC)):
        result = raw_lake_retention.execute_in_process(resources={"lake": LakeResource(root=str(tmp_path / "lake"))})
    get_settings.cache_clear()
    assert result.success and result.output_for_node("expire_raw_lake_partitions") == 1
    assert [p.split("received_date=")[1][:10] for p in lake.files("events")] == ["2025-01-20"]


def test_a_deletion_erases_the_persons_ignored_segment_messages_too(tmp_path):
    from streamloop.core.privacy.erasers import LakeEraser

    lake = Lake(tmp_path / "lake")
    at = datetime(2025, 1, 1, 12, tzinfo=UTC)
    lake.write_records("ignored", ['{"type": "group", "userId": "p-gone"}', '{"type": "group", "userId": "p-kept"}'],
                       source="segment", received_at=at, reasons=["not collected"] * 2)
    eraser = LakeEraser(str(tmp_path / "lake"))
    assert eraser.count(frozenset({"p-gone"})) == 1
    assert eraser.erase(frozenset({"p-gone"}), frozenset()).rows == 1
    import pyarrow.parquet as pq

    left = [raw for path in lake.files("ignored") for raw in pq.read_table(path).column("raw").to_pylist()]
    assert left == ['{"type": "group", "userId": "p-kept"}']
