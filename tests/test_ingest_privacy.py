"""`streamloop ingest` applies the edge's privacy rules, through the collector's own code (EdgePrivacy): a
forgotten person's events never land (counted as suppressed, counts reconcile) and ip / user agent are
minimized exactly as the collector minimizes them."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from support.functions import event as api_event
from support.functions import make_services
from support.home import use_home
from support.ingest import ingest_event

from streamloop.cli import main
from streamloop.core.ingest import ingest_paths
from streamloop.core.privacy.subjects import privacy_salt
from streamloop.core.privacy.suppression import SuppressionList
from streamloop.core.settings import get_settings
from streamloop.core.store import get_store


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    yield use_home(monkeypatch, tmp_path / "home")
    get_settings.cache_clear()


event = ingest_event


def forget_ids(*ids: str) -> None:
    settings = get_settings()
    store = get_store(settings)
    SuppressionList(store, privacy_salt(settings)).add(ids, "deletion-1")
    store.close()


def landed(kind: str) -> list[tuple[str, str]]:
    """(source, raw) of every record of one kind in the lake."""
    root = Path(get_settings().lake_root)
    if not list(root.glob(f"{kind}/*/*.parquet")):
        return []
    return duckdb.sql(f"select source, raw from read_parquet('{root}/{kind}/*/*.parquet')"
                      " order by batch_id, record_index").fetchall()


def test_a_forgotten_persons_events_in_a_file_are_counted_as_suppressed_and_never_land(tmp_path):
    # GIVEN a profile and (separately) an account that asked to be forgotten
    forget_ids("p-gone", "a-gone")
    lines = [
        json.dumps(event("keep-1")),
        json.dumps(event("gone-1", profile_id="p-gone", account_id="a1")),
        json.dumps(event("gone-2", profile_id=None, account_id="a-gone", event_type="app_open", properties={})),
        json.dumps(event("gone-1", profile_id="p-gone", account_id="a1")),  # a second copy: suppressed too
        json.dumps(event("gone-bad", profile_id="p-gone", event_type="teleport")),  # invalid, still suppressed
        json.dumps(event("bad-1", event_type="teleport")),
    ]
    path = tmp_path / "bulk.jsonl"
    path.write_text("\n".join(lines) + "\n")

    # WHEN the file is ingested from the command line
    result = CliRunner().invoke(main, ["ingest", str(path)])

    # THEN only the others' records land; the forgotten person's are counted once each, as suppressed
    assert result.exit_code == 0, result.output
    assert "received 6 · accepted 1 · duplicates 0 · rejected 1 · suppressed 4" in result.output
    raws = [raw for kind in ("events", "rejected") for _, raw in landed(kind)]
    assert len(raws) == 2
    assert not any("p-gone" in raw or "a-gone" in raw for raw in raws)
    summary = ingest_paths([str(path)])  # the counts reconcile (Tally.check) on a second run too
    assert (summary.total.received, summary.total.suppressed, summary.total.rejected) == (6, 4, 1)


@pytest.mark.parametrize("policy", ["drop", "pseudonymize"])
def test_ip_and_user_agent_land_exactly_as_the_collector_lands_them(tmp_path, monkeypatch, policy):
    monkeypatch.setenv("STREAMLOOP_EDGE_IP", policy)
    get_settings.cache_clear()
    home = Path(get_settings().home_dir)
    personal = {"ip": "203.0.113.9", "user_agent": "SmartTV/7.1 (Linux)"}
    valid = api_event("play_start", title_id="m1", position_s=0, duration_s=60) | {"event_id": "with-ip"}
    valid["context"] = valid["context"] | personal
    bad = api_event("play_start", title_id="m1") | {"event_id": "bad-with-ip"}  # no position_s: rejected
    bad["context"] = bad["context"] | personal
    texts = [json.dumps(valid, indent=1), json.dumps(bad)]

    # GIVEN the same records sent to the collector (same home: same salt and policy) and written to a file
    services = make_services(home)
    services.collector.ingest([json.loads(t) for t in texts], raws=texts)
    services.close()
    path = tmp_path / "same.jsonl"
    path.write_text("\n".join(json.dumps(json.loads(t)) for t in texts) + "\n")

    # WHEN the file is ingested
    ingest_paths([str(path)])

    # THEN each record lands byte for byte as the collector landed it, without the raw ip and user agent
    for kind in ("events", "rejected"):
        by_source = {source.split(":")[0]: raw for source, raw in landed(kind)}
        assert set(by_source) == {"api", "ingest"}, kind
        assert by_source["ingest"] == by_source["api"], kind
        assert "203.0.113.9" not in by_source["ingest"] and "SmartTV" not in by_source["ingest"], kind
    kept = json.loads(landed("events")[0][1])["context"]
    assert ("ip" in kept) == (policy == "pseudonymize")


def test_records_without_personal_context_keep_their_bytes(tmp_path):
    text = '{"event_id": "plain-1",  "event_type": "app_open", "occurred_at": "2024-05-01T20:00:00Z", ' \
           '"device_id": "d1", "profile_id": "p1", "account_id": "a1", "context": {"country": "DE", ' \
           '"device_type": "tv", "app_version": "1.0", "os": "tvOS", "timezone": "Europe/Berlin"}, ' \
           '"properties": {}, "schema_version": 1}'
    path = tmp_path / "plain.jsonl"
    path.write_text(text + "\n")
    ingest_paths([str(path)])
    assert [raw for _, raw in landed("events")] == [text]


@pytest.mark.slow
def test_suppressed_records_are_counted_in_the_reconciliation(tmp_path):
    """received = accepted + duplicates + rejected + ignored + suppressed in the warehouse too: the records
    dropped for a forgotten person (by ingest and by the collector) land as text-less `suppressed` rows."""
    from streamloop.app.build import run_build

    forget_ids("p-gone")
    path = tmp_path / "bulk.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in (
        event("keep-1"), event("gone-1", profile_id="p-gone"), event("gone-2", profile_id="p-gone"),
        event("bad-1", event_type="teleport"))) + "\n")
    # GIVEN two of a file's records and one of a collector request belong to the forgotten person
    assert ingest_paths([str(path)]).total.suppressed == 2
    services = make_services(get_settings().home_dir)
    try:
        sent = [api_event("app_open") | {"event_id": "api-keep"}, api_event("app_open", profile_id="p-gone")]
        assert services.collector.ingest(sent).suppressed == 1
    finally:
        services.close()
    assert not any("p-gone" in raw for kind in ("events", "rejected", "suppressed") for _, raw in landed(kind))

    # WHEN the warehouse is built (its singular test assert_reconciliation_balances runs with it)
    run_build()

    # THEN the reconciliation counts the three suppressed records and balances
    with duckdb.connect(str(get_settings().warehouse_file), read_only=True) as con:
        received, accepted, duplicates, rejected, ignored, suppressed = con.execute(
            "select sum(received_count), sum(accepted_count), sum(duplicate_count), sum(rejected_count),"
            " sum(ignored_count), sum(suppressed_count) from ingestion_reconciliation").fetchone()
    assert (received, suppressed) == (4 + 2, 3)
    assert received == accepted + duplicates + rejected + ignored + suppressed
    assert (accepted, duplicates, rejected, ignored) == (2, 0, 1, 0)
