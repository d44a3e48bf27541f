"""Forget a person: every registered store erased, the ids suppressed, an audit record without personal data.

Order matters: the suppression list is written FIRST, so an event arriving while the erasure runs is
dropped at the edge instead of landing behind the eraser's back; then the lake (whose removed records'
event ids let the online store drop their idempotency markers), the warehouse, the online store and any
store that registered itself (messaging's outbox, contacts and ledgers; the model registry's candidate
lists). The audit says which stores, how many rows, and how long backups still hold the data.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field

from streamloop.core import clock
from streamloop.core.privacy.erasers import Eraser, LakeEraser, registered_erasers
from streamloop.core.privacy.rebuild import request_full_refresh
from streamloop.core.privacy.subjects import Subject, privacy_salt
from streamloop.core.privacy.suppression import SuppressionList
from streamloop.core.settings import Settings


@dataclass
class ForgetReport:
    deletion_id: str
    requested_at: str
    subject_kind: str
    profiles: int
    stores: dict[str, int] = field(default_factory=dict)
    remaining: dict[str, int] = field(default_factory=dict)
    unreached: dict[str, str] = field(default_factory=dict)  # store -> why this process could not erase it
    residue: dict[str, str] = field(default_factory=dict)  # store -> why deleted bytes may still be on its disk
    suppressed_ids: int = 0
    backups_retained_days: int = 0
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """Every store erased: nothing left anywhere (rows, nor deleted bytes in a store's files), and no store
        this process could not reach."""
        return not any(self.remaining.values()) and not self.unreached and not self.residue

    def problems(self) -> str:
        """Why the deletion is incomplete, in one line ('' when complete)."""
        parts = [f"{store}: {rows} row(s) still found" for store, rows in self.remaining.items() if rows]
        parts += [f"{store} not erased ({reason})" for store, reason in self.unreached.items()]
        parts += [f"{store}: deleted bytes may remain ({reason})" for store, reason in self.residue.items()]
        return "; ".join(parts)

    def to_json(self) -> dict:
        return asdict(self) | {"complete": self.complete}


def subject_ids(subject: Subject, erasers: list[Eraser]) -> frozenset[str]:
    """The ids to erase: the profile, or the account and every profile the stores know in it."""
    if subject.kind == "profile":
        return frozenset([subject.id])
    ids = {subject.id}
    for eraser in erasers:
        finder = getattr(eraser, "profiles_of_account", None)
        if finder is not None:
            ids |= finder(subject.id)
    return frozenset(ids)


def forget(subject: Subject, settings: Settings, erasers: list[Eraser] | None = None, store=None) -> ForgetReport:
    """Erases `subject` from every store; returns (and appends to the audit log) what was removed."""
    from streamloop.core.store import get_store

    start = time.perf_counter()
    erasers = registered_erasers(settings) if erasers is None else erasers
    store = store or get_store(settings)
    report = ForgetReport(uuid.uuid4().hex, clock.now().isoformat(timespec="seconds"), subject.kind, 0,
                          backups_retained_days=settings.backup_retention_days)
    ids = subject_ids(subject, erasers)
    profiles = ids - {subject.id} if subject.kind == "account" else ids
    report.profiles = len(profiles)
    report.suppressed_ids = SuppressionList(store, privacy_salt(settings)).add(ids, report.deletion_id)
    event_ids: set[str] = set()
    for eraser in erasers:
        erasure = eraser.erase(ids, frozenset(event_ids))
        event_ids |= erasure.event_ids
        report.stores[eraser.name] = report.stores.get(eraser.name, 0) + erasure.rows
        if erasure.unreached:
            report.unreached[eraser.name] = erasure.unreached
        if erasure.residue:
            report.residue[eraser.name] = erasure.residue
    # a store that could not be reached cannot be counted either: it is in `unreached`, never "0 remaining"
    report.remaining = {eraser.name: eraser.count(ids) for eraser in erasers if eraser.name not in report.unreached}
    if report.stores.get("warehouse"):
        request_full_refresh(settings, report.deletion_id)
    report.seconds = round(time.perf_counter() - start, 3)
    _audit(settings, report)
    return report


def _audit(settings: Settings, report: ForgetReport) -> None:
    """One JSON line per deletion under HOME/privacy/deletions.jsonl: no id, no hash of one."""
    path = settings.home_dir / "privacy" / "deletions.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = report.to_json() | {
        "completed_at": clock.now().isoformat(timespec="seconds"),
        "backups": f"S3 object versions and DynamoDB point-in-time recovery keep the deleted data up to "
                   f"{report.backups_retained_days} days (STREAMLOOP_BACKUP_RETENTION_DAYS)",
    }
    with path.open("a") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


__all__ = ["ForgetReport", "LakeEraser", "Subject", "forget"]
