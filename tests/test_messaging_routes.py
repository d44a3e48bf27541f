"""Messaging routes through the real app: in-app messages fetched once, one-click unsubscribe with a signed
token, SES feedback via SNS accepted only when signed by SNS for the expected topic."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from support.messaging import AT, campaign, not_in_control, profile_row, runner, write_warehouse

from functions.app import create_app
from messaging.contacts import address_hash, contacts_for, record_contact, unsubscribe_token
from messaging.feedback import string_to_sign
from messaging.ledger import Ledger
from streamloop.core.settings import Settings

KEY = {"x-api-key": "app-key"}
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"


@pytest.fixture
def app(tmp_path):
    settings = Settings(home=tmp_path, api_keys="app-key", outbox_path=tmp_path / "outbox.sqlite",
                        sns_feedback_topic_arn=TOPIC, messaging_unsubscribe_secret="s",
                        messaging_contact_secret="c", online_store_path=tmp_path / "online.sqlite")
    return create_app(settings)


def test_in_app_messages_are_handed_out_once_and_marked_delivered(app, tmp_path):
    ids = not_in_control(2)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(p) for p in ids])
    runner(tmp_path, [campaign(), campaign(id="second_one", priority=10)]).run(AT)
    client = TestClient(app)
    assert client.get(f"/v1/profiles/{ids[0]}/messages").status_code == 401
    first = client.get(f"/v1/profiles/{ids[0]}/messages", headers=KEY).json()
    assert [m["campaign_id"] for m in first["messages"]] and {m["campaign_id"] for m in first["messages"]} == {
        "winback_test", "second_one"}
    assert all(m["subject"] == "Hello" and m["body"] == "Come back" for m in first["messages"])
    assert client.get(f"/v1/profiles/{ids[0]}/messages", headers=KEY).json()["messages"] == []
    ledger = Ledger(tmp_path / "outbox.sqlite")
    assert ledger.count("select count(*) from messages where status = 'delivered'") == 2
    delivered = [json.loads(b) for _, b in ledger.pending_events() if '"message_delivered"' in b]
    assert len(delivered) == 2 and all(e["context"]["country"] == "US" for e in delivered)


def test_one_click_unsubscribe_honours_only_a_signed_token(app, tmp_path):
    ids = not_in_control(1)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(ids[0])])
    ledger = Ledger(tmp_path / "outbox.sqlite")
    record_contact(ledger, ids[0], "email", "viewer@example.com", AT, "c")
    runner(tmp_path, [campaign(channel="email")]).run(AT)
    client = TestClient(app)
    headers = json.loads(ledger._con().execute("select headers from outbox").fetchone()[0])
    url = headers["List-Unsubscribe"].strip("<>").removeprefix("http://localhost:8000")
    # GET shows a confirmation page and changes nothing (mail scanners follow links)
    assert "Unsubscribe" in client.get(url).text
    assert ledger.count("select count(*) from consents") == 0
    forged = unsubscribe_token("wrong-secret", ids[0], "email", "m_x")
    assert client.post(f"/v1/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    done = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and done.json() == {"unsubscribed": True, "channel": "email"}
    # the next run sends no email to this profile, before any warehouse build
    later = runner(tmp_path, [campaign(id="next_week", channel="email")]).run(AT + timedelta(days=7))
    assert later.campaigns[0].suppressed == {"no_consent": 1}


@pytest.fixture
def sns_signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2027, 1, 1, tzinfo=UTC)).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)

    def sign(message: dict) -> dict:
        signed = dict(message, SignatureVersion="2", SigningCertURL=CERT_URL)
        signature = key.sign(string_to_sign(signed), padding.PKCS1v15(), hashes.SHA256())
        return dict(signed, Signature=base64.b64encode(signature).decode())
    return sign, (lambda url: pem)


def ses_bounce(message_id: str, address: str) -> dict:
    """An SES bounce notification as SNS delivers it (shapes from the SES and SNS documentation)."""
    notification = {
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                   "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1"}],
                   "timestamp": "2026-03-02T18:00:05.000Z", "feedbackId": "0100018c-example"},
        "mail": {"timestamp": "2026-03-02T18:00:00.000Z", "source": "hello@streamloop.example",
                 "messageId": "0100018c-ses", "destination": [address],
                 "tags": {"message_id": [message_id], "campaign_id": ["winback_test"]}},
    }
    return {"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "TopicArn": TOPIC,
            "Message": json.dumps(notification), "Timestamp": "2026-03-02T18:00:06.000Z",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}


def test_ses_bounce_via_signed_sns_suppresses_the_address(app, tmp_path, sns_signer):
    sign, fetcher = sns_signer
    ids = not_in_control(1)
    write_warehouse(tmp_path / "warehouse.duckdb", [profile_row(ids[0])])
    ledger = Ledger(tmp_path / "outbox.sqlite")
    record_contact(ledger, ids[0], "email", "Viewer@Example.com", AT, "c")
    runner(tmp_path, [campaign(channel="email")]).run(AT)
    message_id = ledger._con().execute("select message_id from messages").fetchone()[0]
    app.state.sns_cert_fetcher = fetcher
    client = TestClient(app)
    genuine = sign(ses_bounce(message_id, "viewer@example.com"))
    # tampered body, wrong topic, foreign certificate host: all refused
    tampered = dict(genuine, Message=genuine["Message"].replace("Permanent", "Transient"))
    wrong_topic = sign(dict(ses_bounce(message_id, "viewer@example.com"), TopicArn=TOPIC + "-other"))
    foreign = dict(genuine, SigningCertURL="https://evil.example.com/cert.pem")
    for bad in (tampered, wrong_topic, foreign):
        assert client.post("/v1/messaging/ses-feedback", content=json.dumps(bad)).status_code == 403
    assert contacts_for(ledger, ids) == {ids[0]: {"email": "Viewer@Example.com"}}
    answer = client.post("/v1/messaging/ses-feedback", content=json.dumps(genuine))
    assert answer.status_code == 200 and answer.json()["suppressed"] == 1
    assert contacts_for(ledger, ids) == {}  # suppressed by its keyed hash, case-insensitively
    assert ledger.count("select count(*) from suppressions where address_hash = ?",
                        address_hash("c", "viewer@example.com")) == 1
    assert ledger.count("select count(*) from messages where status = 'failed' and reason like 'bounced%'") == 1
    # the next email campaign has nowhere to send
    later = runner(tmp_path, [campaign(id="next_week", channel="email")]).run(AT + timedelta(days=7))
    assert later.campaigns[0].suppressed == {"no_contact": 1}


def test_collector_keeps_contacts_out_of_the_lake_and_feeds_triggers_and_consent(app, tmp_path):
    import duckdb

    from messaging.contacts import consents_for

    def event(event_id, event_type, props, at="2026-03-01T20:15:00+01:00"):
        return {"event_id": event_id, "event_type": event_type, "occurred_at": at, "device_id": "d1",
                "profile_id": "p1", "account_id": "a1",
                "context": {"country": "DE", "device_type": "tv", "app_version": "5.1", "os": "tizen",
                            "timezone": "Europe/Berlin"}, "properties": props, "schema_version": 1}
    batch = [event("c1", "contact_updated", {"channel": "email", "address": "Viewer@Example.com"}),
             event("c2", "contact_updated", {"channel": "fax", "address": "also-secret@example.com"}),  # rejected
             event("s1", "consent_updated", {"channel": "email", "granted": True}),
             event("p1", "play_stop", {"title_id": "t1", "position_s": 600})]
    answer = TestClient(app).post("/v1/events", json={"events": batch}, headers=KEY).json()
    assert answer["accepted"] == 3 and [r["event_id"] for r in answer["rejected"]] == ["c2"]
    lake_text = " ".join(r[0] for r in duckdb.sql(
        f"select raw from read_parquet('{tmp_path}/lake/*/*/*.parquet', union_by_name = true)").fetchall())
    assert "Viewer@Example.com" not in lake_text and "also-secret@example.com" not in lake_text
    assert f"hmac-sha256:{address_hash('c', 'viewer@example.com')}" in lake_text
    ledger = Ledger(tmp_path / "outbox.sqlite")
    assert contacts_for(ledger, ["p1"]) == {"p1": {"email": "Viewer@Example.com"}}
    assert consents_for(ledger, ["p1"]) == {"p1": {"email": True}}
    due = ledger._con().execute("select campaign_id, subject, due_at from triggers").fetchall()
    assert due == [("finish_what_you_started", "t1", "2026-03-02T19:15:00+00:00")]
