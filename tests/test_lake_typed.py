"""Parse once: the lake types event records as it lands them, and the warehouse reads those columns
instead of the JSON. Typed or not, a record must stage to the same row: the same simulated and mutated
records are landed both ways and staged by one dbt build, and the two sets of rows compared."""
from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.home import use_home

from streamloop.app.build import run_build
from streamloop.core.compaction import compact
from streamloop.core.contract import validate_event
from streamloop.core.contract.landed import PROPERTY_TYPES, TYPED_FLAG, TYPED_SCHEMA, typed_columns
from streamloop.core.lake import EVENTS_SCHEMA, RAW_SCHEMA, Lake, raw_table
from streamloop.core.settings import get_settings
from streamloop.core.simulate import SimulationConfig, run_simulation

RECEIVED_AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EVENT = {
    "event_id": "e-1", "event_type": "play_start", "occurred_at": "2026-03-02T10:00:00.123+01:00",
    "device_id": "d-1", "profile_id": "p-1", "account_id": None, "schema_version": 1,
    "context": {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen", "timezone": "UTC"},
    "properties": {"title_id": "t-1", "position_s": 0, "duration_s": 100},
}


def typed(raw: str) -> dict | None:
    """The typed row of one record (column name -> value), None when it is left untyped."""
    columns = typed_columns([raw], pa.array([RECEIVED_AT], type=pa.timestamp("us", tz="UTC")))
    if not columns[0][0].as_py():
        return None
    return {field.name: column[0].as_py() for field, column in zip(TYPED_SCHEMA, columns, strict=True)}


def test_a_valid_record_is_typed_with_its_fields_in_utc():
    row = typed(json.dumps(EVENT))
    assert row is not None and row[TYPED_FLAG] is True
    assert row["event_id_value"] == "e-1" and row["account_id_value"] is None
    assert row["occurred_at_utc"] == datetime(2026, 3, 2, 9, 0, 0, 123000)  # naive UTC, as staging's
    assert row["property_duration_s_value"] == 100 and row["property_title_id_value"] == "t-1"
    assert row["context_country_value"] == "DE" and row["schema_version_value"] == 1.0


@pytest.mark.parametrize("raw, why", [
    (json.dumps({**EVENT, "event_id": ""}), "invalid by the contract"),
    ('{"event_id": "e-1", ' + json.dumps(EVENT)[1:], "a duplicate key: DuckDB keeps the first, orjson the last"),
    ('{"event_id" : "e-0",' + json.dumps(EVENT)[1:], "a duplicate key after a spaced colon"),
    (json.dumps({**EVENT, "properties": {**EVENT["properties"], "duration_s": 2 ** 60}}),
     "an integer beyond 2^53: staging reads it through a double"),
    (json.dumps({**EVENT, "occurred_at": "2026-03-02T10:00:00.1234567Z"}), "a fraction beyond microseconds"),
    ("[1, 2]", "not an object"),
    ("{", "not JSON"),
])
def test_records_staging_might_read_differently_stay_untyped(raw, why):
    assert typed(raw) is None, why


def test_a_property_of_another_event_type_is_typed_null_when_its_type_differs():
    # `rank` belongs to clicks and impressions (an integer): on a play_start staging reads it as null
    event = copy.deepcopy(EVENT)
    event["properties"]["rank"] = "first"
    row = typed(json.dumps(event))
    assert row is not None and row["property_rank_value"] is None
    assert PROPERTY_TYPES["rank"] == "integer"


def test_the_edge_validator_follows_json_schema_where_python_differs():
    # both would have been typed as valid although staging rejects them
    assert validate_event({**EVENT, "schema_version": True}, RECEIVED_AT) == ["schema_version: must be 1"]
    event = copy.deepcopy(EVENT)
    event["context"]["country"] = "DE\n"
    assert validate_event(event, RECEIVED_AT)[0].startswith("context.country:")


def test_events_files_carry_the_typed_columns_and_other_kinds_do_not(tmp_path):
    lake = Lake(tmp_path)
    [events] = lake.write_records("events", [json.dumps(EVENT), "garbage"], "test", RECEIVED_AT)
    [rejected] = lake.write_records("rejected", ["garbage"], "test", RECEIVED_AT, reasons=["not JSON"])
    table = pq.read_table(events)
    assert table.schema.remove_metadata().equals(EVENTS_SCHEMA)
    assert table.column(TYPED_FLAG).to_pylist() == [True, False]
    assert table.column("raw").to_pylist()[0] == json.dumps(EVENT)  # the text is kept for forensics
    assert TYPED_FLAG not in pq.read_schema(rejected).names


# -- typed and untyped stage to the same rows --------------------------------------------------------------
ODD_VALUES = [None, "", "x", "DE\n", "de", 0, 1, -1, 1.0, 1.5, 2 ** 60, 1e308, True, False, [], {}, ["x"],
              "2026-03-02T10:00:00Z", "2026-03-02 10:00:00+00:00", "2026-03-02T10:00:00", "tv", "😀\u0000"]


def mutations(events: list[dict], rng: random.Random, count: int) -> list[str]:
    """Records one field away from a valid event: a value of the wrong type, an edge of a rule, a field
    dropped, or a property of another event type."""
    out = []
    for _ in range(count):
        event = copy.deepcopy(rng.choice(events))
        roll = rng.random()
        if roll < 0.35:
            event[rng.choice(list(EVENT))] = rng.choice(ODD_VALUES)
        elif roll < 0.55 and isinstance(event.get("context"), dict):
            event["context"][rng.choice(list(EVENT["context"]))] = rng.choice(ODD_VALUES)
        elif roll < 0.9 and isinstance(event.get("properties"), dict):
            event["properties"][rng.choice(sorted(PROPERTY_TYPES))] = rng.choice(ODD_VALUES)
        else:
            event.pop(rng.choice(list(EVENT)), None)
        out.append(json.dumps(event) if rng.random() < 0.5 else orjson.dumps(event).decode())
    return out


def land_legacy(lake: Lake, raws: list[str], times: list[datetime], batch_id: str) -> None:
    """Files as the lake wrote them before typed columns existed: RAW_SCHEMA only."""
    table = raw_table({"batch_id": [batch_id] * len(raws), "record_index": list(range(len(raws))),
                       "received_at": times, "source": ["test"] * len(raws), "raw": raws}, RAW_SCHEMA)
    dates = {at.date().isoformat() for at in times}
    for day in sorted(dates):
        rows = [i for i, at in enumerate(times) if at.date().isoformat() == day]
        folder = Path(lake.root) / "events" / f"received_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.take(rows), folder / f"batch-{batch_id}.parquet")


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    use_home(mp, tmp_path_factory.mktemp("typed") / "home")
    run_simulation(SimulationConfig(profiles=40, days=6, seed=3, workers=1, malformed_rate=0.05))
    lake = Lake(get_settings().lake_root)
    simulated = []
    for path in lake.files("events"):
        simulated += pq.read_table(path, columns=["raw", "received_at"]).to_pylist()
    for path in lake.files("events"):  # only the two copies below are staged and compared
        Path(path).unlink()
    rng = random.Random(11)
    valid = []
    for row in simulated:
        try:
            event = orjson.loads(row["raw"])
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict) and not validate_event(event, row["received_at"]):
            valid.append(event)
    records = [(row["raw"], row["received_at"]) for row in simulated]
    received = max(at for _, at in records)
    records += [(raw, received) for raw in mutations(valid, rng, 3000)]
    raws = [raw for raw, _ in records]
    times = [at for _, at in records]
    lake.write_records("events", raws, "test", times, batch_id="typed")
    lake.write_records("events", raws, "test", times, batch_id="untyped", typed=False)
    land_legacy(lake, raws, times, batch_id="legacy")
    run_build()
    yield {"path": get_settings().warehouse_file, "lake": lake, "records": len(records)}
    mp.undo()
    get_settings.cache_clear()


@pytest.mark.slow
def test_typed_and_untyped_records_stage_to_the_same_rows(staged):
    columns = "* exclude (record_key, batch_id, _staged_at)"
    with duckdb.connect(str(staged["path"]), read_only=True) as con:
        def rows(batch):
            return f"select {columns} from int_events_received where batch_id = '{batch}'"
        only_typed = con.execute(f"{rows('typed')} except all {rows('untyped')}").fetchall()
        only_untyped = con.execute(f"{rows('untyped')} except all {rows('typed')}").fetchall()
        counts = dict(con.execute("select batch_id, count(*) from int_events_received group by 1").fetchall())
        valid = con.execute("select count(*) filter (where is_valid), count(*) filter (where not is_valid) "
                            "from int_events_received where batch_id = 'typed'").fetchone()
        only_legacy = con.execute(f"{rows('legacy')} except all {rows('untyped')}").fetchall()
    assert counts == {"typed": staged["records"], "untyped": staged["records"], "legacy": staged["records"]}
    assert only_typed == [] and only_untyped == []
    assert only_legacy == []  # files landed before typed columns existed are read beside typed ones
    assert valid[0] > 1000 and valid[1] > 500  # both branches of staging were exercised


@pytest.mark.slow
def test_most_simulated_records_were_typed_at_landing(staged):
    lake = staged["lake"]
    typed_count = untyped = 0
    for path in lake.files("events"):
        if "batch-legacy" in path:
            continue
        flags = pq.read_table(path, columns=[TYPED_FLAG]).column(TYPED_FLAG).to_pylist()
        if "batch-typed" in path:
            typed_count += sum(flags)
        else:
            untyped += sum(flags)
    assert untyped == 0
    assert typed_count > staged["records"] * 0.5


def test_received_times_bound_the_future_skew_as_staging_does():
    late = (RECEIVED_AT + timedelta(hours=25)).isoformat()
    assert typed(json.dumps({**EVENT, "occurred_at": late})) is None


def test_compaction_keeps_typed_columns_beside_files_landed_without_them(tmp_path):
    lake = Lake(tmp_path)
    day = datetime(2026, 3, 1, 12, tzinfo=UTC)
    lake.write_records("events", [json.dumps({**EVENT, "occurred_at": "2026-03-01T10:00:00Z"})], "test", day,
                       batch_id="new")
    land_legacy(lake, [json.dumps({**EVENT, "event_id": "e-old", "occurred_at": "2026-03-01T09:00:00Z"})], [day],
                batch_id="old")
    report = compact(lake, processed=lambda _: {"new", "old"}, now=datetime(2026, 3, 3, tzinfo=UTC))
    [compacted] = report.compacted
    table = pa.concat_tables([pq.read_table(path) for path in compacted.outputs])
    flags = dict(zip(table.column("batch_id").to_pylist(), table.column(TYPED_FLAG).to_pylist(), strict=True))
    assert flags == {"new": True, "old": None}  # null: staging parses the legacy record's text
    ids = dict(zip(table.column("batch_id").to_pylist(), table.column("event_id_value").to_pylist(), strict=True))
    assert ids == {"new": "e-1", "old": None}


def test_events_the_edge_already_validated_are_typed_as_if_parsed_again():
    # the collector hands the lake the events it parsed and validated from the very texts it lands
    rng = random.Random(5)
    base = [EVENT, {**EVENT, "event_type": "impression", "event_id": "e-2",
                    "properties": {"title_id": "t-2", "row_id": "top:1", "rank": 3, "propensity": 0.25}}]
    raws = [json.dumps(e) for e in base] + mutations(base, rng, 400)
    events = [orjson.loads(raw) for raw in raws]
    validated = [e if isinstance(e, dict) and not validate_event(e, RECEIVED_AT) else None for e in events]
    received = pa.array([RECEIVED_AT] * len(raws), type=pa.timestamp("us", tz="UTC"))
    again = typed_columns(raws, received)
    handed = typed_columns(raws, received, validated)
    assert [a.equals(b) for a, b in zip(again, handed, strict=True)] == [True] * len(again)
    assert again[0].true_count == sum(v is not None for v in validated) > 50


def test_the_collector_lands_accepted_events_typed(tmp_path):
    from support.functions import make_services

    services = make_services(tmp_path)
    event = {**EVENT, "occurred_at": datetime.now(UTC).isoformat()}
    result = services.collector.ingest([event, {**event, "event_id": ""}])
    assert result.accepted == 1 and len(result.rejected) == 1
    [path] = Lake(services.collector.lake_root).files("events")
    table = pq.read_table(path)
    assert table.column(TYPED_FLAG).to_pylist() == [True]
    assert table.column("event_id_value").to_pylist() == ["e-1"]


def test_ingest_lands_the_events_it_accepted_typed(tmp_path, monkeypatch):
    from streamloop.core.ingest import ingest_paths

    use_home(monkeypatch, tmp_path / "home")
    event = {**EVENT, "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join([json.dumps(event), json.dumps({**event, "event_id": ""}), "{broken"]) + "\n")
    summary = ingest_paths([str(source)])
    assert summary.total.accepted == 1 and summary.total.rejected == 2
    [path] = Lake(get_settings().lake_root).files("events")
    table = pq.read_table(path)
    assert table.column(TYPED_FLAG).to_pylist() == [True]
    assert table.column("event_id_value").to_pylist() == ["e-1"]
    get_settings.cache_clear()
