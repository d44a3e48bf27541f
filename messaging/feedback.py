"""Provider feedback: Amazon SES event notifications delivered by SNS over HTTPS, authenticated the way SNS
signs them (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html).

A message is accepted only if it comes from the expected topic, its signing certificate URL is an
`https://sns.<region>.amazonaws.com/...pem` URL, and its signature (SignatureVersion 1: SHA1, 2: SHA256,
RSA PKCS#1 v1.5) verifies with that certificate. The certificate is read through an injected fetcher
(tests never fetch; production fetches and caches). Bounces (permanent) and complaints suppress the
address; deliveries, bounces and complaints are matched to our message by the `message_id` tag the SES
adapter sets, and become message events.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlparse

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from messaging import contacts
from messaging.events import message_event
from messaging.records import MessagingState

CertFetcher = Callable[[str], bytes]
_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_CERT_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")


class FeedbackRejected(ValueError):
    pass


def signing_cert_url_ok(url: str, region: str | None = None) -> bool:
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.path.endswith(".pem") or not _CERT_HOST.match(parsed.hostname or ""):
        return False
    return region is None or parsed.hostname.startswith(f"sns.{region}.")


def string_to_sign(message: dict) -> bytes:
    fields = _SIGNED_FIELDS.get(message.get("Type", ""))
    if fields is None:
        raise FeedbackRejected(f"unknown SNS message Type {message.get('Type')!r}")
    parts = []
    for name in fields:
        if name in message and message[name] is not None:
            parts.append(f"{name}\n{message[name]}\n")
        elif name != "Subject":
            raise FeedbackRejected(f"SNS message misses {name}")
    return "".join(parts).encode()


def verify(message: dict, expected_topic: str, fetch_cert: CertFetcher, region: str | None = None) -> None:
    """Raises FeedbackRejected unless the message is a genuine SNS message of `expected_topic`."""
    if not expected_topic or message.get("TopicArn") != expected_topic:
        raise FeedbackRejected(f"unexpected TopicArn {message.get('TopicArn')!r}")
    url = message.get("SigningCertURL") or message.get("SigningCertUrl") or ""
    if not signing_cert_url_ok(url, region):
        raise FeedbackRejected(f"SigningCertURL {url!r} is not an SNS certificate URL")
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise FeedbackRejected(f"unsupported SignatureVersion {message.get('SignatureVersion')!r}")
    try:
        signature = base64.b64decode(message.get("Signature", ""), validate=True)
        certificate = x509.load_pem_x509_certificate(fetch_cert(url))
        certificate.public_key().verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise FeedbackRejected(f"SNS signature does not verify: {type(exc).__name__}") from None


def handle(ledger: MessagingState, message: dict, at: datetime, contact_secret: str) -> dict:
    """Applies a verified SES notification; returns what was done."""
    if message["Type"] != "Notification":
        return {"type": message["Type"]}
    ses = orjson.loads(message["Message"])
    kind = ses.get("notificationType") or ses.get("eventType")
    mail = ses.get("mail", {})
    tags = mail.get("tags", {})
    message_id = (tags.get("message_id") or [None])[0]
    suppressed = []
    if kind == "Bounce" and ses.get("bounce", {}).get("bounceType") == "Permanent":
        suppressed = [r["emailAddress"] for r in ses["bounce"].get("bouncedRecipients", [])]
    elif kind == "Complaint":
        suppressed = [r["emailAddress"] for r in ses.get("complaint", {}).get("complainedRecipients", [])]
    for address in suppressed:
        contacts.suppress(ledger, contacts.address_hash(contact_secret, address), kind.lower(), at)
    event_type = {"Delivery": "message_delivered", "Complaint": "message_unsubscribed"}.get(kind)
    if message_id:  # status, event and (complaint) email consent withdrawn, in one write
        reason = f"bounced: {ses.get('bounce', {}).get('bounceType', '')}"
        ledger.record_feedback(message_id, kind, at, reason,
                               lambda row: message_event(event_type, row, at) if event_type else None)
    return {"type": "Notification", "notification": kind, "message_id": message_id, "suppressed": len(suppressed)}


@lru_cache(maxsize=16)
def fetch_certificate(url: str) -> bytes:
    """Production fetcher: only SNS certificate URLs (checked again here), cached per process."""
    if not signing_cert_url_ok(url):
        raise ValueError(f"refusing to fetch {url!r}")
    from urllib.request import urlopen

    with urlopen(url, timeout=5) as response:  # https SNS host checked above
        return response.read()
