"""Push through Amazon SNS mobile push: the push token becomes a platform endpoint, then one publish."""
from __future__ import annotations

import json

import boto3

from messaging.delivery import Delivery, DeliveryError, OutgoingMessage
from messaging.delivery.providers import RateLimiter, call_with_retry


class SnsPush(Delivery):
    def __init__(self, platform_application_arn: str, region: str, rate_per_second: float = 100.0, client=None,
                 base_wait_s: float = 0.2):
        self.application = platform_application_arn
        self.client = client or boto3.client("sns", region_name=region)
        self.limiter = RateLimiter(rate_per_second)
        self.base_wait_s = base_wait_s

    def deliver(self, message: OutgoingMessage, con=None) -> None:
        if not message.address:
            raise DeliveryError("no push token")

        def send():
            self.limiter.wait()
            # create_platform_endpoint is idempotent for the same token and attributes
            endpoint = self.client.create_platform_endpoint(PlatformApplicationArn=self.application,
                                                            Token=message.address)["EndpointArn"]
            payload = {"default": message.subject,
                       "GCM": json.dumps({"notification": {"title": message.subject, "body": message.body},
                                          "data": {"message_id": message.message_id}}),
                       "APNS": json.dumps({"aps": {"alert": {"title": message.subject, "body": message.body}},
                                           "message_id": message.message_id})}
            return self.client.publish(TargetArn=endpoint, Message=json.dumps(payload), MessageStructure="json")

        call_with_retry(send, base_wait_s=self.base_wait_s)
