"""Forget on the SQLite online store leaves no bytes of the person in its files (issue 13 part 1): neither the
deleted items' cells, nor the older copies an earlier update left in free space, nor the -wal's frames."""
from __future__ import annotations

from streamloop.core.privacy.erasers import OnlineStoreEraser
from streamloop.core.store.sqlite import SQLiteStore


def raw(path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_online_store_erase_leaves_no_bytes_of_the_person(tmp_path):
    path = tmp_path / "online.sqlite"
    store = SQLiteStore(path)  # stays open across the erase, as the serving process's store does
    try:
        marker = "forget-me-7f3a"
        # an item rewritten with a shorter value: its old, longer cell lingers in free space (no secure_delete)
        store.put("profile", marker, {"history": [f"{marker}-title-{i}" for i in range(40)]})
        store.put("profile", marker, {"history": [f"{marker}-title-0"]})
        store.put("candidates", marker, {"items": ["t1", "t2"], "who": marker})
        store.put("profile", "kept-profile", {"history": ["t9"]})
        assert marker.encode() in raw(path)

        erasure = OnlineStoreEraser(lambda: store).erase(frozenset([marker]), frozenset())

        assert erasure.rows == 2 and erasure.residue is None
        assert raw(path).count(marker.encode()) == 0
        # the store keeps working through its own, still-open connection
        assert store.get("profile", "kept-profile") == {"history": ["t9"]}
        assert store.get("profile", marker) is None
    finally:
        store.close()
