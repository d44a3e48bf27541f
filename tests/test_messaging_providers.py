"""SES and SNS adapters through boto3 against moto, and retry with backoff through botocore's Stubber."""
from __future__ import annotations

import email

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from messaging.delivery import DeliveryError, OutgoingMessage
from messaging.delivery.providers import RateLimiter
from messaging.delivery.ses import SesEmail
from messaging.delivery.sns import SnsPush

MESSAGE = OutgoingMessage("m_1", "winback_test", "p1", "email", "viewer@example.com", "We saved your place",
                          "New films arrive every week.",
                          {"List-Unsubscribe": "<https://api.example/v1/unsubscribe/tok>",
                           "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})


@pytest.fixture
def aws(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def test_ses_sends_raw_mime_with_one_click_unsubscribe_headers(aws):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    client = boto3.client("ses", region_name="us-east-1")
    client.verify_email_identity(EmailAddress="hello@streamloop.example")
    SesEmail("hello@streamloop.example", "us-east-1", rate_per_second=50, client=client).deliver(MESSAGE)
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert len(sent) == 1
    mime = email.message_from_string(sent[0].raw_data)
    assert mime["To"] == "viewer@example.com" and mime["Subject"] == "We saved your place"
    assert mime["List-Unsubscribe"] == "<https://api.example/v1/unsubscribe/tok>"
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_ses_rejection_is_final_and_named(aws):
    client = boto3.client("ses", region_name="us-east-1")  # sender never verified: SES refuses
    with pytest.raises(DeliveryError) as refused:
        SesEmail("unverified@streamloop.example", "us-east-1", 50, client=client).deliver(MESSAGE)
    assert not refused.value.retryable and "MessageRejected" in refused.value.reason


def test_throttling_is_retried_with_backoff_then_succeeds_or_fails_with_reason(aws):
    client = boto3.client("ses", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("send_raw_email", "Throttling", "Maximum sending rate exceeded.")
        stub.add_client_error("send_raw_email", "Throttling", "Maximum sending rate exceeded.")
        stub.add_response("send_raw_email", {"MessageId": "0100018c-ok"})
        SesEmail("hello@streamloop.example", "us-east-1", 1000, client=client, base_wait_s=0.001).deliver(MESSAGE)
        stub.assert_no_pending_responses()
    with Stubber(client) as stub:
        for _ in range(4):
            stub.add_client_error("send_raw_email", "ServiceUnavailable", "try later", http_status_code=503)
        with pytest.raises(DeliveryError) as failed:
            SesEmail("hello@streamloop.example", "us-east-1", 1000, client=client, base_wait_s=0.001).deliver(MESSAGE)
        assert failed.value.reason == "ServiceUnavailable: try later (after 4 attempts)"


def test_sns_push_publishes_to_the_tokens_endpoint(aws):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    client = boto3.client("sns", region_name="us-east-1")
    app = client.create_platform_application(Name="streamloop", Platform="GCM",
                                             Attributes={"PlatformCredential": "key"})["PlatformApplicationArn"]
    push = OutgoingMessage("m_2", "winback_test", "p1", "push", "device-token-1", "New episode", "It's out.")
    SnsPush(app, "us-east-1", client=client).deliver(push)
    endpoints = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].platform_endpoints
    (endpoint,) = [e for e in endpoints.values() if e.token == "device-token-1"]
    assert len(endpoint.messages) == 1 and "New episode" in next(iter(endpoint.messages.values()))


def test_rate_limiter_spaces_calls_to_the_provider_quota():
    import time

    limiter = RateLimiter(per_second=200)
    start = time.monotonic()
    for _ in range(41):
        limiter.wait()
    assert time.monotonic() - start >= 40 / 200 * 0.95
