"""The suppression list: salted hashes of forgotten profile and account ids, in the online store.

The collector and `streamloop ingest` drop an arriving event whose profile or account is on it (counted as
`suppressed`, CONTRACT §2/§6), so a late event or a retried batch cannot bring a forgotten person back.
The list holds no raw id: only HMACs under the privacy salt (subjects.py).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from streamloop.core.store.base import OnlineStore

NAMESPACE = "suppressed"


class SuppressionList:
    def __init__(self, store: OnlineStore, salt: bytes):
        from streamloop.core.privacy.subjects import salted_hash

        self.store = store
        self._hash = lambda identifier: salted_hash(identifier, salt)

    def add(self, identifiers: Iterable[str], deletion_id: str) -> int:
        items = {self._hash(i): {"deletion_id": deletion_id} for i in identifiers}
        self.store.put_many(NAMESPACE, items)
        return len(items)

    def suppressed_ids(self, identifiers: Iterable[str]) -> set[str]:
        """The ids among `identifiers` that are forgotten (one batched read)."""
        by_hash = {self._hash(i): i for i in set(identifiers) if isinstance(i, str) and i}
        if not by_hash:
            return set()
        found = self.store.get_many(NAMESPACE, list(by_hash))
        return {by_hash[h] for h in found}

    def suppressed_indexes(self, events: Sequence[object]) -> set[int]:
        """Indexes of the events (dicts) whose profile_id or account_id is forgotten."""
        ids = [e.get(field) for e in events if isinstance(e, dict) for field in ("profile_id", "account_id")]
        forgotten = self.suppressed_ids(i for i in ids if isinstance(i, str))
        if not forgotten:
            return set()
        return {index for index, event in enumerate(events) if isinstance(event, dict)
                and (event.get("profile_id") in forgotten or event.get("account_id") in forgotten)}
