"""Experiment exposures, logged as `experiment_exposure` events through the collector's landing path.

Pages are served in ~1 ms, so exposures are buffered and landed in batches (one lake file per
`max_events` exposures or per `max_age_s`, whichever comes first) on a background thread, and on
shutdown. Exposure events are server-made: `device_id` is "api:<profile_id>" (a profile id too long for
the contract's 128-character device id gets "api:sha256:<hex>" instead) and `context.app_version` is
"server", so warehouse models can tell them from device events. Their country and device type are the
request's, else the profile's latest device event's (home_reads.Context.fill_request_context); when neither
is known the contract still requires values: country "ZZ" (ISO 3166's user-assigned code, read as
unknown) and device type "web" (the contract has no unknown device type). `properties.model_version` is
the page's model_version (what ranked Top Picks, "popularity" when no model did).
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from functions.collector import LandingError
from streamloop.core import clock
from streamloop.core.store.base import StoreError

log = logging.getLogger("streamloop.exposures")
MAX_DEVICE_ID = 128  # CONTRACT §2 event.schema.json device_id maxLength
UNKNOWN_COUNTRY, UNKNOWN_DEVICE_TYPE = "ZZ", "web"  # required by the contract even when unknown (docstring)


def server_device_id(profile_id: str) -> str:
    """The exposure's device: "api:<profile_id>", hashed when that would exceed the contract's limit (the
    event was rejected and the exposure lost)."""
    device_id = f"api:{profile_id}"
    if len(device_id) <= MAX_DEVICE_ID:
        return device_id
    return f"api:sha256:{hashlib.sha256(profile_id.encode()).hexdigest()}"


class ExposureLog:
    def __init__(self, collector, max_events: int = 500, max_age_s: float = 5.0):
        self.collector = collector
        self.max_events = max_events
        self.max_age_s = max_age_s
        self.max_buffered = 20 * max_events  # while the lake is down; beyond it the oldest are dropped (logged)
        self._buffer: list[dict] = []
        self._first_at = 0.0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exposure-flush")

    def record(self, *, profile_id: str, account_id: str | None, experiment_id: str, variant: str,
               country: str | None, device_type: str | None, timezone_name: str | None,
               model_version: str | None = None) -> None:
        event = {
            "event_id": f"exp-{uuid.uuid4().hex}",
            "event_type": "experiment_exposure",
            "occurred_at": clock.now().isoformat(timespec="milliseconds"),  # the service's day (frozen in tests)
            "device_id": server_device_id(profile_id),
            "profile_id": profile_id,
            "account_id": account_id,
            "context": {"country": country or UNKNOWN_COUNTRY, "device_type": device_type or UNKNOWN_DEVICE_TYPE,
                        "app_version": "server", "os": "server", "timezone": timezone_name or "UTC"},
            "properties": {"experiment_id": experiment_id, "variant": variant},
            "schema_version": 1,
        }
        if model_version:
            event["properties"]["model_version"] = model_version
        with self._lock:
            if not self._buffer:
                self._first_at = time.monotonic()
            self._buffer.append(event)
            due = len(self._buffer) >= self.max_events or time.monotonic() - self._first_at >= self.max_age_s
            batch = self._take() if due else None
        if batch:
            self._pool.submit(self._land, batch)

    def _take(self) -> list[dict]:
        batch, self._buffer = self._buffer, []
        return batch

    def _land(self, batch: list[dict]) -> int:
        """Lands a batch; on a lake failure (or the store's, which the suppression check reads) keeps it for
        the next flush (bounded) and returns 0: it runs on a background thread, where a raise is lost."""
        try:
            result = self.collector.ingest(batch, source="api:exposures", claim=False)
        except (LandingError, StoreError):
            with self._lock:
                kept = (batch + self._buffer)[-self.max_buffered:]
                dropped = len(batch) + len(self._buffer) - len(kept)
                self._buffer = kept
            log.exception("could not land %d experiment exposures; kept for the next flush, dropped %d",
                          len(batch), dropped)
            return 0
        if result.rejected:
            log.error("experiment exposures rejected by the contract: %s", result.rejected[:3])
        return result.accepted

    def flush(self) -> int:
        """Lands whatever is buffered now (waits for earlier background landings); returns how many."""
        with self._lock:
            batch = self._take()
        self._pool.submit(lambda: None).result()  # earlier background landings finish first
        return self._land(batch) if batch else 0

    def close(self) -> None:
        self.flush()
        self._pool.shutdown(wait=True)
