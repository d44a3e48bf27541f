"""`streamloop ingest`: validation at the edge, rejects kept with reasons, reconciliation, idempotence."""
from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from support.ingest import ingest_event

from streamloop.cli import main
from streamloop.core import ingest
from streamloop.core.errors import StreamloopError
from streamloop.core.ingest import ingest_paths
from streamloop.core.settings import get_settings


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STREAMLOOP_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def lake_rows(kind: str) -> list[tuple]:
    root = Path(get_settings().lake_root)
    pattern = f"{root}/catalog/*.parquet" if kind == "catalog" else f"{root}/{kind}/*/*.parquet"
    if not list(root.glob("catalog/*.parquet" if kind == "catalog" else f"{kind}/*/*.parquet")):
        return []
    columns = "raw, reason" if kind == "rejected" else "raw, null"
    return duckdb.sql(f"select {columns} from read_parquet('{pattern}') order by batch_id, record_index").fetchall()


def lake_files() -> list[str]:
    return sorted(str(p) for p in Path(get_settings().lake_root).rglob("*.parquet"))


event = ingest_event


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def messy_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A JSON-lines file with three valid events, one duplicate and one reject of each kind.

    Returns the path and, for each rejected record's marker, the field its reason must name.
    """
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    lines = [
        json.dumps(event("ok-1")),
        json.dumps(event("ok-2", event_type="app_open", properties={})),
        json.dumps(event("ok-1", properties={"title_id": "second-copy", "position_s": 0, "duration_s": 1})),
        "{not json at all",
        json.dumps(event("bad-type", properties={"title_id": "t1", "position_s": "ten", "duration_s": 3600})),
        json.dumps(event("bad-kind", event_type="teleport")),
        json.dumps({k: v for k, v in event("x", device_id="no-id-device").items() if k != "event_id"}),
        json.dumps(event("no-offset", occurred_at="2024-05-01T20:00:00")),
        json.dumps(event("future", occurred_at=future)),
        "[1, 2, 3]",
        "",
        json.dumps(event("ok-3", event_type="rating", properties={"title_id": "t1", "value": 1})),
    ]
    expected_fields = {
        "{not json": "not valid JSON", "bad-type": "properties.position_s", "bad-kind": "event_type",
        "no-id-device": "event_id: required", "no-offset": "occurred_at",
        "future": "occurred_at: more than", "[1, 2, 3]": "must be a JSON object",
    }
    return write_lines(tmp_path / "messy.jsonl", lines), expected_fields


def test_ingest_counts_reconcile_and_rejects_name_their_field(tmp_path):
    path, expected_fields = messy_file(tmp_path)

    summary = ingest_paths([str(path)])

    total = summary.total
    assert (total.received, total.accepted, total.duplicates, total.rejected) == (11, 3, 1, 7)
    accepted = [json.loads(raw)["event_id"] for raw, _ in lake_rows("events")]
    assert sorted(accepted) == ["ok-1", "ok-2", "ok-3"]
    first_copy = next(json.loads(raw) for raw, _ in lake_rows("events") if json.loads(raw)["event_id"] == "ok-1")
    assert first_copy["properties"]["title_id"] == "t1"  # the first copy wins, the later one is a duplicate
    rejected = lake_rows("rejected")
    assert len(rejected) == 7
    for marker, field in expected_fields.items():
        reasons = [reason for raw, reason in rejected if marker in raw]
        assert len(reasons) == 1, marker
        assert field in reasons[0], (marker, reasons[0])
    assert "{not json at all" in [raw for raw, _ in rejected]  # kept byte for byte
    rendered = summary.render()
    assert "messy.jsonl" in rendered and "rejected 7" in rendered and "top rejection reasons" in rendered


def test_reingesting_the_same_file_lands_nothing_new(tmp_path):
    path, _ = messy_file(tmp_path)
    ingest_paths([str(path)])
    files_before = lake_files()

    again = ingest_paths([str(path)])

    assert lake_files() == files_before
    assert again.files_written == []
    assert again.files[0].already_landed and "already in the lake" in again.render()
    assert len(lake_rows("events")) == 3 and len(lake_rows("rejected")) == 7


def test_reingesting_on_another_day_lands_nothing_new(tmp_path):
    path, _ = messy_file(tmp_path)
    ingest_paths([str(path)])
    # pretend the first ingest happened on another day: its files sit in another received-date partition
    for kind in ("events", "rejected"):
        today = next((Path(get_settings().lake_root) / kind).iterdir())
        today.rename(today.with_name("received_date=2000-01-01"))
    files_before = lake_files()

    again = ingest_paths([str(path)])

    assert again.files_written == [] and lake_files() == files_before


def test_changed_file_lands_as_a_new_batch(tmp_path):
    path = write_lines(tmp_path / "a.jsonl", [json.dumps(event("e1"))])
    ingest_paths([str(path)])
    write_lines(path, [json.dumps(event("e1")), json.dumps(event("e2"))])

    summary = ingest_paths([str(path)])

    assert len(summary.files_written) == 1
    assert len(lake_rows("events")) == 3  # e1 twice across batches: the warehouse de-duplicates across files


def test_duplicates_are_found_across_batches_of_one_file(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "RECORDS_PER_BATCH", 2)
    lines = [json.dumps(event(f"e{i}")) for i in range(5)] + [json.dumps(event("e0")), json.dumps(event("e4"))]
    path = write_lines(tmp_path / "many.jsonl", lines)

    summary = ingest_paths([str(path)])

    assert (summary.total.accepted, summary.total.duplicates) == (5, 2)
    assert len(summary.files_written) == 3  # batches of 2, 2, 2(+1) records; the last holds only duplicates


def test_folders_gzip_and_json_arrays(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    with gzip.open(folder / "a.jsonl.gz", "wt") as f:
        f.write(json.dumps(event("gz-1")) + "\n" + json.dumps(event("gz-2")) + "\n")
    with gzip.open(folder / "b.json.gz", "wt") as f:
        json.dump([event("arr-1"), event("arr-2", event_type="nope")], f)
    (folder / "c.json").write_text(json.dumps(event("pretty-1"), indent=2))
    write_lines(folder / "d.json", ["{broken first line", json.dumps(event("lines-1"))])
    (folder / "notes.txt").write_text("not an event file")

    summary = ingest_paths([str(folder)])

    assert [r.name for r in summary.files] == ["a.jsonl.gz", "b.json.gz", "c.json", "d.json"]
    assert (summary.total.received, summary.total.accepted, summary.total.rejected) == (7, 5, 2)
    landed = sorted(json.loads(raw)["event_id"] for raw, _ in lake_rows("events"))
    assert landed == ["arr-1", "gz-1", "gz-2", "lines-1", "pretty-1"]


def test_missing_path_and_broken_gzip_fail_with_one_line(tmp_path):
    with pytest.raises(StreamloopError, match="no such file"):
        ingest_paths([str(tmp_path / "absent.jsonl")])
    broken = tmp_path / "broken.jsonl.gz"
    content = gzip.compress("".join(json.dumps(event(f"e{i}")) + "\n" for i in range(200)).encode())
    broken.write_bytes(content[: len(content) // 2])
    with pytest.raises(StreamloopError) as failure:
        ingest_paths([str(broken)])
    assert "\n" not in str(failure.value) and "broken.jsonl.gz" in str(failure.value)
    assert lake_files() == []

    result = CliRunner().invoke(main, ["ingest", str(broken)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1


def test_catalog_ingest(tmp_path):
    movie = {"title_id": "m1", "name": "A Film", "kind": "movie", "genres": ["drama"], "moods": [], "cast": [],
             "maturity_rating": "13+", "runtime_s": 5400, "release_date": "2020-03-01", "available_countries": ["*"]}
    lines = [
        json.dumps(movie),
        json.dumps({**movie, "name": "same id again"}),
        json.dumps({**movie, "title_id": "m2", "maturity_rating": "PG"}),
        json.dumps({**movie, "title_id": "e1", "kind": "episode"}),
    ]
    path = write_lines(tmp_path / "titles.jsonl", lines)

    result = CliRunner().invoke(main, ["ingest", "--catalog", str(path)])

    assert result.exit_code == 0, result.output
    assert "received 4 · accepted 1 · duplicates 1 · rejected 2" in result.output
    assert [json.loads(raw)["name"] for raw, _ in lake_rows("catalog")] == ["A Film"]
    reasons = " | ".join(reason for _, reason in lake_rows("rejected"))
    assert "maturity_rating" in reasons and "series_id" in reasons
    assert lake_rows("events") == []
