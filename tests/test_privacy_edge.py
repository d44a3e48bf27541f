"""The edge minimizes personal context before landing (STREAMLOOP_EDGE_IP) and keeps other bytes as sent."""
from __future__ import annotations

import orjson

from streamloop.core.privacy.edge import EdgePrivacy
from streamloop.core.privacy.subjects import salted_hash

EVENT = {"event_id": "e1", "context": {"country": "US", "ip": "203.0.113.9", "user_agent": "TV/1.0"}}


def test_drop_removes_ip_and_user_agent():
    landed = orjson.loads(EdgePrivacy(b"salt", "drop").minimized_text(EVENT, orjson.dumps(EVENT).decode()))
    assert landed["context"] == {"country": "US"}


def test_pseudonymize_replaces_them_with_keyed_hashes():
    landed = orjson.loads(EdgePrivacy(b"salt", "pseudonymize").minimized_text(EVENT, "{}"))
    assert landed["context"]["ip"] == "hmac-sha256:" + salted_hash("203.0.113.9", b"salt")
    assert landed["context"]["user_agent"] == "hmac-sha256:" + salted_hash("TV/1.0", b"salt")
    assert "203.0.113.9" not in orjson.dumps(landed).decode()


def test_records_without_personal_context_keep_their_original_bytes():
    text = '{"event_id": "e2",   "context": {"country": "US"}}'
    assert EdgePrivacy(b"salt", "drop").minimized_text(orjson.loads(text), text) is text
    assert EdgePrivacy(b"salt", "keep").minimized_text(EVENT, "as sent") == "as sent"


def test_a_rejected_record_lands_without_its_ip_and_a_forgotten_persons_copies_count_once(tmp_path):
    import pyarrow.parquet as pq

    from streamloop.core.lake import Lake
    from streamloop.core.privacy.suppression import SuppressionList
    from tests.support.functions import event, make_services

    services = make_services(tmp_path)
    bad = event("play_start", title_id="m1") | {"event_id": "bad-1"}  # no position_s: rejected
    bad["context"] |= {"ip": "203.0.113.9", "userAgent": "TV/1.0"}
    forgotten = event("play_start", "kid", title_id="m1", position_s=0, duration_s=60) | {"account_id": "a-kid"}
    SuppressionList(services.collector.store, services.collector.privacy.salt).add(["kid"], "del-1")

    result = services.collector.ingest([bad, forgotten, dict(forgotten)])

    # GIVEN two copies of a forgotten person's event: suppressed twice, never also a duplicate
    assert (result.accepted, result.duplicates, len(result.rejected), result.suppressed) == (0, 0, 1, 2)
    lake = Lake(services.settings.lake_root)
    landed = [row["raw"] for kind in ("events", "rejected") for path in lake.files(kind)
              for row in pq.read_table(path).to_pylist()]
    assert len(landed) == 1
    assert "203.0.113.9" not in landed[0] and "TV/1.0" not in landed[0]
    assert orjson.loads(landed[0])["event_id"] == "bad-1"
    services.close()
