"""Email through Amazon SES (raw MIME, so the RFC 8058 one-click unsubscribe headers are ours to set)."""
from __future__ import annotations

from email.message import EmailMessage

import boto3

from messaging.delivery import Delivery, DeliveryError, OutgoingMessage
from messaging.delivery.providers import RateLimiter, call_with_retry


class SesEmail(Delivery):
    def __init__(self, sender: str, region: str, rate_per_second: float, client=None, base_wait_s: float = 0.2):
        self.sender = sender
        self.client = client or boto3.client("ses", region_name=region)
        self.limiter = RateLimiter(rate_per_second)
        self.base_wait_s = base_wait_s

    def deliver(self, message: OutgoingMessage, con=None) -> None:
        if not message.address:
            raise DeliveryError("no email address")
        mime = EmailMessage()
        mime["From"] = self.sender
        mime["To"] = message.address
        mime["Subject"] = message.subject
        for name, value in message.headers.items():
            mime[name] = value
        mime.set_content(message.body)

        def send():
            self.limiter.wait()
            return self.client.send_raw_email(Source=self.sender, Destinations=[message.address],
                                              RawMessage={"Data": mime.as_bytes()},
                                              Tags=[{"Name": "message_id", "Value": message.message_id},
                                                    {"Name": "campaign_id", "Value": message.campaign_id}])

        call_with_retry(send, base_wait_s=self.base_wait_s)
