"""Atomic publication: batch values are written under a new generation's key prefix, then one pointer
record (`publication/current`) is flipped, so a reader sees one whole publication or the previous one,
never two model versions (or two warehouse builds) mixed.

Two families move independently: `warehouse` (profile, title, lists: what a build computed) and `model`
(candidates, similar: what one production model version produced), so a model promotion or rollback
republishes its lists without rewriting every profile. Keys are `<generation>/<key>`. Generations before
the previous one are deleted after the flip; the previous one stays, for readers still holding the old
pointer in their cache (serving re-reads it every few seconds).

A store without a pointer (nothing published yet, or values written by hand) is read with unprefixed keys.
"""
from __future__ import annotations

import uuid

from streamloop.core import clock
from streamloop.core.store.base import OnlineStore
from streamloop.core.store.values import Generations

POINTER_NS, POINTER_KEY = "publication", "current"
WAREHOUSE_NAMESPACES = ("profile", "title", "lists")
MODEL_NAMESPACES = ("candidates", "similar")
FAMILIES = {"warehouse": WAREHOUSE_NAMESPACES, "model": MODEL_NAMESPACES}
FAMILY_OF = {ns: family for family, namespaces in FAMILIES.items() for ns in namespaces}
UNPUBLISHED: Generations = {"warehouse": "", "model": "", "model_version": None, "model_kind": None,
                            "model_name": None, "published_at": ""}


def new_generation() -> str:
    """Sortable by time, unique across concurrent publishers."""
    return clock.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def versioned(generation: str | None, key: str) -> str:
    return f"{generation}/{key}" if generation else key


def is_key_of(stored_key: str, key: str) -> bool:
    """True if `stored_key` is `key` itself or `key` under some generation (privacy scans match both)."""
    return stored_key == key or stored_key.partition("/")[2] == key


def current(store: OnlineStore) -> Generations:
    return store.get(POINTER_NS, POINTER_KEY) or UNPUBLISHED


def read_published(store: OnlineStore, namespace: str, keys: list[str]) -> dict:
    """Published values of `keys` under the current generation, keyed without the prefix (batch jobs,
    tools and tests; serving caches the pointer instead of reading it per request)."""
    return get_versioned(store.get_many, namespace, prefix_for(current(store), namespace), keys)


def get_versioned(read, namespace: str, prefix: str, keys: list[str]) -> dict:
    """`read(namespace, keys)` (a store's get_many) of the keys under `prefix`, keyed without it."""
    if not prefix:
        return read(namespace, keys)
    found = read(namespace, [versioned(prefix, k) for k in keys])
    return {key[len(prefix) + 1:]: value for key, value in found.items()}


def prefix_for(pointer: Generations, namespace: str) -> str:
    """The generation whose keys a reader of `namespace` uses ('' for unprefixed keys)."""
    return pointer.get(FAMILY_OF[namespace]) or ""


def flip(store: OnlineStore, **changes) -> Generations:
    """Points readers at the new generation(s) in one atomic write, then retires, per family, generations
    older than the previous one. Returns the new pointer."""
    retired: list[tuple[str, str]] = []

    def update(old: Generations | None) -> Generations:
        old = old or UNPUBLISHED
        new = {**old, **changes, "published_at": clock.now().isoformat(timespec="seconds")}
        # what the previous flip kept alive for cached readers can go now; the replaced current stays
        retired[:] = [(family, g) for family, g in old.get("retired", []) if g != new[family]]
        new["retired"] = [[family, old[family]] for family in FAMILIES
                          if old[family] and old[family] != new[family]]
        return new

    pointer = store.update(POINTER_NS, POINTER_KEY, update)
    for family, generation in retired:
        for namespace in FAMILIES[family]:
            store.delete_prefix(namespace, generation + "/")
    return pointer
