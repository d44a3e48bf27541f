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
