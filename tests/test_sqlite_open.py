"""Several processes opening one new SQLite file at the same moment (two campaign runners started together)."""
from __future__ import annotations

import multiprocessing as mp
import sqlite3

import pytest

from messaging.ledger import Ledger
from streamloop.core.store.sqlite import SQLiteStore

OPENERS = {"ledger": Ledger, "store": SQLiteStore}


def _open(kind: str, path: str, start, results) -> None:
    start.wait()
    try:
        OPENERS[kind](path)
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 (reported to the parent, which names it)
        results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("kind", sorted(OPENERS))
def test_processes_opening_a_new_file_together_all_succeed(tmp_path, kind):
    # Before the fix about one opening in twenty failed with "database is locked" (the journal-mode switch
    # does not wait); 40 races of three openers each made a failure-free run all but impossible.
    ctx = mp.get_context("fork")
    outcomes = []
    for trial in range(40):
        start, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(kind, str(tmp_path / f"{trial}.sqlite"), start, results))
                 for _ in range(3)]
        for p in procs:
            p.start()
        start.set()
        outcomes += [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
    assert [o for o in outcomes if o != "ok"] == []
    with sqlite3.connect(tmp_path / "0.sqlite") as con:
        assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
