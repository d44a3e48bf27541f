"""What external adapters share: retry with exponential backoff (tenacity) and the provider's rate limit."""
from __future__ import annotations

import threading
import time

from botocore.exceptions import BotoCoreError, ClientError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from messaging.delivery import DeliveryError

# error codes after which a retry can succeed; anything else (bad address, rejected message) is final
RETRYABLE_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
                   "InternalFailure", "InternalError", "RequestTimeout", "LimitExceededException"}


def classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        return DeliveryError(f"{code}: {message}".strip(": "), retryable=code in RETRYABLE_CODES)
    if isinstance(exc, BotoCoreError | OSError):
        return DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True)
    raise exc


class RateLimiter:
    """At most `per_second` calls per second across threads (the provider's sending quota)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


def call_with_retry(fn, attempts: int = 4, base_wait_s: float = 0.2, max_wait_s: float = 5.0):
    """Calls `fn()`; retries retryable provider errors with exponential backoff; raises DeliveryError."""
    def retryable(exc: BaseException) -> bool:
        return isinstance(exc, Exception) and classify(exc).retryable

    try:
        for attempt in Retrying(stop=stop_after_attempt(attempts), reraise=True,
                                wait=wait_exponential(multiplier=base_wait_s, max=max_wait_s),
                                retry=retry_if_exception(retryable)):
            with attempt:
                return fn()
    except Exception as exc:
        error = classify(exc)
        if error.retryable:
            error = DeliveryError(f"{error.reason} (after {attempts} attempts)", retryable=True)
        raise error from exc
