"""Turns simulated events into lake records: JSON text, received times and delivery faults.

Behaviour code appends events as a few plain columns (time, time zone, type, envelope text,
properties text); this module assembles the JSON text for a whole chunk at once, formats every
timestamp in one vectorized call and draws the faults (late, duplicate, malformed) with the chunk's
random generator, so a chunk costs a few microseconds per event and is reproducible from the seed.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from streamloop.core.simulate.faults import MALFORMED_KINDS, corrupt
from streamloop.core.simulate.population import offset_suffix

DAY_MS = 86_400_000
_LATE_MIN_MS, _LATE_MAX_MS = DAY_MS, 5 * DAY_MS


class EventBuffer:
    """Columns of the events simulated so far in one chunk (one row per event)."""

    __slots__ = ("_zone_index", "envelopes", "properties", "times", "types", "zone_seconds", "zone_suffixes", "zones")

    def __init__(self):
        self.times: list[int] = []        # occurred_at, ms since the epoch (UTC)
        self.zones: list[int] = []        # index into zone_seconds/zone_suffixes: how the client wrote the time
        self.types: list[str] = []
        self.envelopes: list[str] = []    # "device_id":…,"profile_id":…,"account_id":…,"context":{…}
        self.properties: list[str] = []   # the properties object as JSON text
        self._zone_index: dict[int | None, int] = {None: 0}
        self.zone_seconds: list[int] = [0]
        self.zone_suffixes: list[str] = ["Z"]

    def zone(self, offset_seconds: int | None) -> int:
        """The zone index for a client writing local time at this UTC offset (None: writes UTC, 'Z')."""
        index = self._zone_index.get(offset_seconds)
        if index is None:
            index = self._zone_index[offset_seconds] = len(self.zone_seconds)
            self.zone_seconds.append(offset_seconds)
            self.zone_suffixes.append(offset_suffix(offset_seconds))
        return index

    def add(self, t_ms: int, zone: int, event_type: str, envelope: str, properties: str = "{}") -> None:
        self.times.append(t_ms)
        self.zones.append(zone)
        self.types.append(event_type)
        self.envelopes.append(envelope)
        self.properties.append(properties)

    def add_many(self, times: list[int], zone: int, event_type: str, envelope: str, properties: list[str]) -> None:
        n = len(times)
        self.times.extend(times)
        self.zones.extend([zone] * n)
        self.types.extend([event_type] * n)
        self.envelopes.extend([envelope] * n)
        self.properties.extend(properties)

    def __len__(self) -> int:
        return len(self.times)

    def clear(self) -> None:
        for column in (self.times, self.zones, self.types, self.envelopes, self.properties):
            column.clear()


@dataclass
class Delivery:
    """Records of one chunk as the server received them."""

    raws: list[str] = field(default_factory=list)
    received_ms: list[int] = field(default_factory=list)
    events_by_type: Counter = field(default_factory=Counter)
    late: int = 0
    duplicates: int = 0
    malformed: int = 0


def id_mask(namespace: str) -> np.ndarray:
    """16 bytes every event id of a run is XORed with: runs in different namespaces (the same seed, another
    start date) share their random draws but never their ids; the same namespace gives the same ids."""
    return np.frombuffer(hashlib.blake2b(namespace.encode(), digest_size=16).digest(), dtype=np.uint8)


def _ids(rng: np.random.Generator, n: int, mask: np.ndarray) -> str:
    """n event ids of 32 hex characters, concatenated: random bytes XOR the run's id mask."""
    draws = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16)
    return (draws ^ mask).tobytes().hex()


def deliver(buffer: EventBuffer, rng: np.random.Generator, *, late_rate: float, duplicate_rate: float,
            malformed_rate: float, latest_receipt_ms: int, id_namespace: str = "") -> Delivery:
    """Encodes the buffer's events and draws how each was delivered.

    Receipt is a few seconds after occurrence; late events arrive 1–5 days later, but not after
    `latest_receipt_ms` (the end of the simulated window, so nothing is received in the future) unless
    they occurred within an hour of it; a duplicate is the same text delivered again within minutes;
    malformed records are extra, corrupted copies of real events under new ids.
    """
    n = len(buffer)
    out = Delivery(events_by_type=Counter(buffer.types))
    if n == 0:
        return out
    times = np.fromiter(buffer.times, dtype=np.int64, count=n)
    zones = np.fromiter(buffer.zones, dtype=np.int64, count=n)
    local = times + np.asarray(buffer.zone_seconds, dtype=np.int64)[zones] * 1000
    stamps = np.datetime_as_string(local.astype("datetime64[ms]"), unit="ms").tolist()
    suffixes = buffer.zone_suffixes
    mask = id_mask(id_namespace)
    ids = _ids(rng, n, mask)
    raws = [
        f'{{"event_id":"{ids[32 * i:32 * i + 32]}","event_type":"{event_type}","occurred_at":"{stamp}{suffixes[zone]}",'
        f'{envelope},"properties":{props},"schema_version":1}}'
        for i, (event_type, stamp, zone, envelope, props) in enumerate(
            zip(buffer.types, stamps, buffer.zones, buffer.envelopes, buffer.properties))
    ]

    delay = np.minimum(rng.lognormal(np.log(1500.0), 1.0, n).astype(np.int64), 600_000) + 200
    late = rng.random(n) < late_rate
    delay[late] += rng.integers(_LATE_MIN_MS, _LATE_MAX_MS, int(late.sum()))
    received = times + delay
    received = np.where(late, np.maximum(np.minimum(received, latest_receipt_ms), times + 3_600_000), received)
    out.late = int(late.sum())

    duplicated = np.flatnonzero(rng.random(n) < duplicate_rate)
    duplicate_received = received[duplicated] + rng.integers(1_000, 600_000, len(duplicated))
    out.duplicates = len(duplicated)

    malformed_count = int(rng.binomial(n, malformed_rate))
    sources = rng.integers(0, n, malformed_count)
    kinds = rng.integers(0, len(MALFORMED_KINDS), malformed_count)
    new_ids = _ids(rng, malformed_count, mask)
    malformed = [corrupt(raws[s], MALFORMED_KINDS[k], new_ids[32 * j:32 * j + 32])
                 for j, (s, k) in enumerate(zip(sources.tolist(), kinds.tolist()))]
    out.malformed = malformed_count

    out.raws = raws + [raws[i] for i in duplicated.tolist()] + malformed
    out.received_ms = received.tolist() + duplicate_received.tolist() + received[sources].tolist()
    return out
