"""`streamloop import sparkify PATH`: Sparkify (eventsim) page-event logs as streaming events.

Sparkify is a simulated music service; its logs are one JSON object per page view (`page`, `ts` in
epoch ms, `sessionId`, `itemInSession`, `userId` — empty when logged out —, `level` free/paid, the
song for `NextSong`). docs/importers.md has the full mapping table; in short: songs become titles
(`sp_` + hash of artist and song), users become profiles `sp_u<id>` in accounts `sp_a<id>`, and a
session's device is its user's device `sp_d<id>` (`sp_ds<sessionId>` for sessions nobody logged into).

The logs are read whole: the mapping needs each session's owner (logged-out page views before a Login
belong to the user who then logs in) and each user's first appearance. That is fine for the
Udacity extracts (8k–540k records); the full 26M-record Sparkify log would need a chunked variant.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamloop.core.constants import COMPLETION_THRESHOLD
from streamloop.core.errors import StreamloopError
from streamloop.core.importers.common import (
    ADULT_PROFILE,
    HEARTBEAT_EVERY_S,
    UNKNOWN_MATURITY,
    ImportRun,
    ImportSummary,
    fingerprint,
    iso_from_epoch_us,
    make_event,
)
from streamloop.core.ingest import expand_paths, iter_candidates
from streamloop.core.lake import Lake
from streamloop.core.progress import step
from streamloop.core.store.base import OnlineStore

# Sparkify logs carry no prices; these are stand-ins so revenue features have a scale (documented).
PAID_PLAN = {"plan": "paid", "price_cents": 999}
FREE_PLAN = {"plan": "free", "price_cents": 0}
CURRENCY = "USD"
APP_VERSION = "sparkify"
REQUIRED_KEYS = ("page", "ts", "sessionId", "itemInSession", "userId")
# Pages with no counterpart in the contract; counted in the summary, documented in docs/importers.md.
DROPPED_PAGES = frozenset({"About", "Help", "Settings", "Save Settings", "Error", "Upgrade", "Downgrade", "Cancel",
                           "Roll Advert", "Add Friend", "Register", "Submit Registration"})

# Primary IANA zone of each US state (a state split across zones gets its most populous one).
_ZONES = {
    "America/New_York": "CT DC DE FL GA KY MA MD ME NC NH NJ NY OH PA RI SC VA VT WV",
    "America/Detroit": "MI",
    "America/Indiana/Indianapolis": "IN",
    "America/Chicago": "AL AR IA IL KS LA MN MO MS ND NE OK SD TN TX WI",
    "America/Denver": "CO ID MT NM UT WY",
    "America/Phoenix": "AZ",
    "America/Los_Angeles": "CA NV OR WA",
    "America/Anchorage": "AK",
    "Pacific/Honolulu": "HI",
}
STATE_TIMEZONES = {state: zone for zone, states in _ZONES.items() for state in states.split()}


def timezone_for(location: str | None) -> str:
    """'Phoenix-Mesa-Scottsdale, AZ' → America/Phoenix; a multi-state metro uses its first state."""
    if not location or ", " not in location:
        return "UTC"
    state = location.rsplit(", ", 1)[1].split("-")[0].strip()
    return STATE_TIMEZONES.get(state, "UTC")


def device_for(user_agent: str | None) -> tuple[str, str]:
    """(device_type, os) from a user agent; the user agent itself is PII and is not kept."""
    agent = user_agent or ""
    if "iPad" in agent:
        return "tablet", "iOS"
    if "iPhone" in agent:
        return "mobile", "iOS"
    if "Android" in agent:
        return ("mobile" if "Mobile" in agent else "tablet"), "Android"
    for marker, os_name in (("Macintosh", "macOS"), ("Windows", "Windows"), ("X11", "Linux"), ("Linux", "Linux")):
        if marker in agent:
            return "web", os_name
    return "web", "unknown"


def title_id_for(artist: str, song: str) -> str:
    return "sp_" + hashlib.sha1(f"{artist}\x1f{song}".encode()).hexdigest()[:12]


@dataclass
class _Record:
    log: dict           # the parsed page view
    file_name: str
    at_us: int          # occurred_at of the page view, microseconds; itemInSession orders same-ms views
    owner: str | None   # the user this page view belongs to (its userId, or its session's user)


def _source_problem(record: object) -> str | None:
    if not isinstance(record, dict):
        return f"sparkify record: must be a JSON object (got {type(record).__name__})"
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        return f"sparkify record: {', '.join(missing)} required"
    if not isinstance(record["ts"], int) or not isinstance(record["itemInSession"], int):
        return "sparkify record: ts and itemInSession must be integers"
    return None


def read_logs(path: Path) -> tuple[list[Path], list[_Record], dict[str, list[tuple[str, str]]]]:
    """Every record of every log file, in time order, and the unusable lines per file (raw, reason)."""
    files = expand_paths([str(path)])
    records: list[_Record] = []
    unusable: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for file in files:
        for raw, record, parse_error in iter_candidates(file):
            problem = parse_error or _source_problem(record)
            if problem:
                unusable[file.name].append((raw, problem))
                continue
            at_us = record["ts"] * 1000 + (record["itemInSession"] % 10_000) * 10
            records.append(_Record(record, file.name, at_us, None))
    # a session belongs to the one user seen in it; logged-out views inherit that user
    session_users: dict[object, set] = defaultdict(set)
    for rec in records:
        if rec.log["userId"]:
            session_users[rec.log["sessionId"]].add(str(rec.log["userId"]))
    for rec in records:
        users = session_users.get(rec.log["sessionId"], set())
        rec.owner = str(rec.log["userId"]) if rec.log["userId"] else (next(iter(users)) if len(users) == 1 else None)
    records.sort(key=lambda r: (r.at_us, str(r.log["sessionId"])))
    return files, records, unusable


class _Mapper:
    """Turns time-ordered page views into contract events, tracking what each mapping needs."""

    def __init__(self, records: list[_Record]):
        self.events: dict[str, list[dict]] = defaultdict(list)  # by source file, to land one batch per file
        self.songs: dict[str, dict] = {}
        self.dropped: Counter = Counter()
        self.users_seen: set[str] = set()
        self.next_at_us = self._next_in_session(records)
        self.last_title: dict[tuple, str] = {}
        self._contexts: dict[tuple, dict] = {}

    @staticmethod
    def _session_key(rec: _Record) -> tuple:
        return rec.log["sessionId"], rec.owner

    def _next_in_session(self, records: list[_Record]) -> dict[int, int]:
        following: dict[int, int] = {}
        previous: dict[tuple, _Record] = {}
        for rec in records:
            key = self._session_key(rec)
            if key in previous:
                following[id(previous[key])] = rec.at_us
            previous[key] = rec
        return following

    def _context(self, log: dict) -> dict:
        key = (log.get("userAgent"), log.get("location"))
        if key not in self._contexts:
            device_type, os_name = device_for(log.get("userAgent"))
            self._contexts[key] = {"country": "US", "device_type": device_type, "app_version": APP_VERSION,
                                   "os": os_name, "timezone": timezone_for(log.get("location"))}
        return self._contexts[key]

    def map(self, rec: _Record, at: list[str]) -> None:
        """`at[k]` is the ISO time of the page view plus k µs (k orders events made from one view)."""
        log = rec.log
        user = str(log["userId"]) if log["userId"] else None
        device = f"sp_d{rec.owner}" if rec.owner else f"sp_ds{log['sessionId']}"
        ids = (device, f"sp_u{user}" if user else None, f"sp_a{user}" if user else None)
        context = self._context(log)
        prefix = f"sp-{user or 'anon'}-{log['sessionId']}-{log['itemInSession']}"
        out = self.events[rec.file_name]

        if user and user not in self.users_seen:
            self.users_seen.add(user)
            out.append(make_event(f"sp-{user}-first-profile_updated", "profile_updated", at[0], *ids, context,
                                  {**ADULT_PROFILE, "timezone": context["timezone"]}))
            if log.get("level") == "paid":
                out.append(make_event(f"sp-{user}-first-subscription_started", "subscription_started", at[1], *ids,
                                      context, {**PAID_PLAN, "currency": CURRENCY, "is_trial": False}))

        page = log["page"]
        if page == "NextSong":
            out += self._play(rec, prefix, ids, context, at[2])
        elif page == "Home":
            out.append(make_event(f"{prefix}-app_open", "app_open", at[2], *ids, context, {}))
        elif page == "Login":
            owner = rec.owner
            login_ids = (device, f"sp_u{owner}" if owner else None, f"sp_a{owner}" if owner else None)
            out.append(make_event(f"{prefix}-login", "login", at[2], *login_ids, context, {}))
        elif page == "Logout":
            out.append(make_event(f"{prefix}-logout", "logout", at[2], *ids, context, {}))
        elif page in ("Thumbs Up", "Thumbs Down", "Add to Playlist"):
            # these pages name no song: they are about the song playing in the session, if any
            title = self.last_title.get(self._session_key(rec))
            properties = {"title_id": title} if title else {}
            if page == "Add to Playlist":
                out.append(make_event(f"{prefix}-add_to_list", "add_to_list", at[2], *ids, context, properties))
            else:
                value = 1 if page == "Thumbs Up" else -1
                out.append(make_event(f"{prefix}-rating", "rating", at[2], *ids, context, {**properties, "value": value}))
        elif page in ("Submit Upgrade", "Submit Downgrade"):
            plan = PAID_PLAN if page == "Submit Upgrade" else FREE_PLAN
            out.append(make_event(f"{prefix}-plan_changed", "plan_changed", at[2], *ids, context, dict(plan)))
        elif page == "Cancellation Confirmation":
            out.append(make_event(f"{prefix}-subscription_canceled", "subscription_canceled", at[2], *ids, context,
                                  {"reason": "user_canceled"}))
        else:
            self.dropped[page] += 1

    def _play(self, rec: _Record, prefix: str, ids: tuple, context: dict, start_at: str) -> list[dict]:
        """play_start, then play_complete at the song's end — or play_stop if the session moved on first."""
        log = rec.log
        artist, song, length = log.get("artist"), log.get("song"), log.get("length")
        title = title_id_for(artist or "", song or "") if artist or song else None
        if title and isinstance(length, (int, float)) and length > 0:
            self.songs.setdefault(title, {
                "title_id": title, "name": f"{song} — {artist}", "kind": "movie", "genres": ["music"], "moods": [],
                "cast": [artist] if artist else [], "maturity_rating": UNKNOWN_MATURITY,
                "runtime_s": max(1, round(length)), "release_date": None, "available_countries": ["*"]})
        if title:
            self.last_title[self._session_key(rec)] = title
        start = make_event(f"{prefix}-play_start", "play_start", start_at, *ids, context,
                           {"title_id": title, "position_s": 0, "duration_s": length} if title else {})
        if not isinstance(length, (int, float)) or not title:
            return [start]  # rejected by validation with the missing field named
        end_us = rec.at_us + 2 + round(length * 1_000_000)
        next_us = self.next_at_us.get(id(rec))
        if next_us is not None and next_us <= end_us:
            end_us = next_us - 1
        start_us = rec.at_us + 2
        position = round((end_us - start_us) / 1_000_000, 3)
        kind = "play_complete" if position >= COMPLETION_THRESHOLD * length else "play_stop"  # CONTRACT §3
        # a song longer than the session gap needs heartbeats to stay one play in one session
        beat_offsets = list(range(HEARTBEAT_EVERY_S, int(position), HEARTBEAT_EVERY_S))
        times = iso_from_epoch_us(np.array([start_us + o * 1_000_000 for o in beat_offsets] + [end_us]))
        beats = [make_event(f"{prefix}-heartbeat-{n}", "heartbeat", at, *ids, context,
                            {"title_id": title, "position_s": offset})
                 for n, (offset, at) in enumerate(zip(beat_offsets, times), 1)]
        end = make_event(f"{prefix}-{kind}", kind, times[-1], *ids, context,
                         {"title_id": title, "position_s": max(position, 0.0)})
        return [start, *beats, end]


def import_sparkify(path: str | Path, lake: Lake | None = None, store: OnlineStore | None = None) -> ImportSummary:
    """Maps Sparkify log files (a file or a folder of them) to contract events and songs to catalog records."""
    source = Path(path)
    if not source.exists():
        raise StreamloopError(f"{path}: no such file or folder")
    with step("sparkify: reading logs"):
        files, records, unusable = read_logs(source)
    if not records and not unusable:
        raise StreamloopError(f"{path}: no Sparkify records found")
    with ImportRun("sparkify", fingerprint(files), lake, store) as run:

        with step("sparkify: mapping and landing events"):
            mapper = _Mapper(records)
            times = np.array([r.at_us for r in records], dtype="int64")
            offsets = [iso_from_epoch_us(times + k) for k in range(3)]
            for index, rec in enumerate(records):
                mapper.map(rec, [offsets[k][index] for k in range(3)])
            for file in files:
                run.land_events(mapper.events.get(file.name, []), batch_key=file.name,
                                source_rejects=unusable.get(file.name, []))
            run.land_catalog(list(mapper.songs.values()))

        notes = [f"price of the paid level is a stand-in: {PAID_PLAN['price_cents']} {CURRENCY} cents (logs have none)",
                 "songs are catalog titles of kind 'movie' with genre 'music' (the contract has no song kind)"]
        if mapper.dropped:
            notes.append("pages with no contract event, not imported: "
                         + ", ".join(f"{page} {n:,}" for page, n in mapper.dropped.most_common()))
        facts = {"log records": len(records) + sum(map(len, unusable.values())), "users": len(mapper.users_seen),
                 "songs": len(mapper.songs), "files": len(files)}
        return run.summary(source, facts, notes)
