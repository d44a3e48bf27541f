"""The online store interface: namespaced JSON values by key, with the few atomic operations serving needs.

Namespaces and value shapes are listed in docs/architecture.md ("Online store"). Values are plain JSON
(dicts, lists, numbers, strings). Every backend raises `StoreError` for backend failures, so callers can
fall back on exactly that and let programming errors surface.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from streamloop.core.errors import StreamloopError

Value = Any
Updater = Callable[[Value | None], Value | None]
# namespaces whose items expire this many seconds after their last write: idempotency markers only need
# to outlive any client's retries (DynamoDB: TTL on `expires_at`; SQLite: purged by the writer)
# (`video_session`: a Segment playback session's title, needed only while the session lasts)
EXPIRING_NAMESPACES = {"seen": 30 * 86400, "video_session": 2 * 86400}


class StoreError(StreamloopError):
    """The online store could not be read or written (unreachable, throttled, timed out, corrupt)."""


class OnlineStore(ABC):
    """Key-value store of JSON values, partitioned by namespace."""

    @abstractmethod
    def get(self, ns: str, key: str) -> Value | None:
        """The value under (ns, key), or None."""

    @abstractmethod
    def get_many(self, ns: str, keys: Iterable[str]) -> dict[str, Value]:
        """Values of the keys that exist (missing keys are absent from the result)."""

    @abstractmethod
    def put_many(self, ns: str, items: Mapping[str, Value]) -> None:
        """Writes (overwrites) every item."""

    @abstractmethod
    def add_if_absent(self, ns: str, key: str, value: Value) -> bool:
        """Writes the value only if the key is absent; True if this call wrote it (atomic)."""

    @abstractmethod
    def update(self, ns: str, key: str, fn: Updater) -> Value | None:
        """Atomic read-modify-write: stores fn(current or None) and returns it; None from fn deletes the key.

        `fn` may run more than once (optimistic backends retry on a concurrent write), so it must be pure.
        """

    @abstractmethod
    def delete(self, ns: str, key: str) -> None:
        """Removes the key if present."""

    @abstractmethod
    def delete_prefix(self, ns: str, prefix: str) -> int:
        """Removes every key of `ns` starting with `prefix` (a retired publication generation); returns how
        many. Batch work, not for request paths: DynamoDB scans the table."""

    def add_many_if_absent(self, ns: str, items: Mapping[str, Value]) -> set[str]:
        """`add_if_absent` for several keys; returns the keys this call wrote. Backends may batch it."""
        return {key for key, value in items.items() if self.add_if_absent(ns, key, value)}

    def update_many(self, ns: str, fns: Mapping[str, Updater]) -> dict[str, Value | None]:
        """`update` for several keys (each key atomic on its own); returns the new values."""
        return {key: self.update(ns, key, fn) for key, fn in fns.items()}

    def keys_mentioning(self, text: str) -> list[tuple[str, str]]:
        """(ns, key) of every item whose key equals `text` or whose value holds it as a JSON string.

        A full scan: used by privacy deletions (streamloop.core.privacy), never on a request path."""
        raise NotImplementedError(f"{type(self).__name__} cannot search its items")

    def erase(self, items: Iterable[tuple[str, str]], needles: Iterable[bytes]) -> str | None:
        """Deletes (ns, key) items for a privacy deletion so their bytes cannot be recovered from the store's
        files. Returns None, or why deleted bytes may still be on disk (one line). Managed backends
        (DynamoDB) own their disks: a plain delete is all a client can do."""
        for ns, key in items:
            self.delete(ns, key)
        return None

    def put(self, ns: str, key: str, value: Value) -> None:
        self.put_many(ns, {key: value})

    def close(self) -> None:
        """Releases connections; the store must not be used afterwards."""
