"""Forgetting a person reaches messaging's SQLite stores (issue 13 part 1): the ledger file holds messages,
the local outbox, the in-app inbox, contacts, channel consents, queued triggers and pending message events.
Each is filled through the code that fills it in production — the collector (contact, consent and trigger
events), a campaign run (messages, outbox, inbox, message events, the lake snapshot) — then
`streamloop privacy forget` must leave no table naming the person, and another person's rows untouched."""
from __future__ import annotations

import re
import sqlite3
from contextlib import closing

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from support.functions import event, make_services
from support.messaging import AT, campaign, not_in_control, profile_row, runner, write_warehouse

from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings

# every table of the ledger file that holds a person's rows (suppressions hold only address hashes: kept)
PERSONAL_TABLES = ("messages", "outbox", "inbox", "contacts", "consents", "triggers", "message_events")
TRIGGERED = "finish_what_you_started"  # a shipped campaign started by play_stop: the collector queues it


def _mentions(text: str, identifier: str) -> bool:
    """`identifier` as a whole token (so "p1" is not found in "p10"), in any text: JSON, URLs, message bodies."""
    return re.search(rf"(?<![\w\-]){re.escape(identifier)}(?![\w\-])", text) is not None


def ledger_mentions(path, identifier: str) -> dict[str, int]:
    """Per table of the SQLite file, the rows any column of which names `identifier`."""
    found = {}
    with closing(sqlite3.connect(path)) as con:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            rows = con.execute(f'select * from "{table}"').fetchall()
            found[table] = sum(any(isinstance(v, str) and _mentions(v, identifier) for v in row) for row in rows)
    return found


def snapshot_mentions(identifier: str) -> int:
    path = f"{get_settings().lake_root}/messaging/ledger.parquet"
    table = pq.read_table(path)
    return sum(any(isinstance(v, str) and _mentions(v, identifier) for v in row.values())
               for row in table.to_pylist())


@pytest.fixture
def people(streamloop_home):
    """Two people, the second's id starting with the first's, each with rows in every messaging table."""
    settings = get_settings()
    forgotten = not_in_control(1, prefix="viewer")[0]
    kept = not_in_control(1, prefix=forgotten)[0]  # e.g. viewer0 and viewer00: an exact match must tell them apart
    # the collector: contact addresses (kept in the contact store, hashed in the lake), channel consents, and
    # a play_stop that queues the shipped "finish what you started" trigger
    services = make_services(settings.home_dir, experiments_dir=settings.home_dir / "no-experiments")
    try:
        batch = []
        for pid in (forgotten, kept):
            batch += [event("contact_updated", pid, channel="email", address=f"{pid}@example.com"),
                      event("consent_updated", pid, channel="email", granted=True),
                      event("consent_updated", pid, channel="in_app", granted=True),
                      event("play_stop", pid, title_id="m1", position_s=600)]
        assert services.collector.ingest(batch).accepted == len(batch)
    finally:
        services.close()
    # a campaign run: an email campaign (outbox) and an in-app one (inbox), both sending now; their message
    # events stay in the ledger and are exported to the lake with the ledger snapshot
    write_warehouse(settings.warehouse_file, [profile_row(p, preferred_hour_local=AT.hour) for p in (forgotten, kept)])
    mail = campaign(id="forget_mail", channel="email", send_time="immediate")
    note = campaign(id="forget_note", channel="in_app", send_time="immediate", priority=40)
    run = runner(settings.home_dir, [mail, note], lake=Lake(settings.lake_root))
    assert run.ledger_path == settings.outbox_file and run.warehouse_path == settings.warehouse_file
    summary = run.run(AT)
    assert [c.sent for c in summary.campaigns] == [2, 2], summary.render()
    return forgotten, kept


def test_forget_leaves_no_messaging_table_naming_the_person(people):
    from streamloop.cli import main

    forgotten, kept = people
    ledger = get_settings().outbox_file
    # GIVEN both people are in every table that holds personal rows, and in the ledger's lake snapshot
    before = ledger_mentions(ledger, forgotten)
    assert all(before[t] > 0 for t in PERSONAL_TABLES), before
    kept_before = ledger_mentions(ledger, kept)
    assert all(kept_before[t] > 0 for t in PERSONAL_TABLES), kept_before
    with closing(sqlite3.connect(ledger)) as con:
        assert con.execute("select count(*) from triggers where campaign_id = ? and status = 'pending'",
                           [TRIGGERED]).fetchone()[0] == 2
    assert snapshot_mentions(forgotten) > 0

    # WHEN the person is forgotten through the CLI
    result = CliRunner().invoke(main, ["privacy", "forget", "--profile", forgotten, "--json"])
    assert result.exit_code == 0, result.output

    # THEN no table names them (nor their address) and the snapshot is rewritten without them
    assert ledger_mentions(ledger, forgotten) == {t: 0 for t in before}
    assert all(n == 0 for n in ledger_mentions(ledger, f"{forgotten}@example.com").values())
    assert snapshot_mentions(forgotten) == 0
    # AND the other person's rows are all still there
    assert ledger_mentions(ledger, kept) == kept_before
    assert snapshot_mentions(kept) > 0


def _raw_counts(path, needles: list[bytes]) -> dict[str, int]:
    """Occurrences of each needle in the raw bytes of a SQLite file and its -wal (deleted rows included)."""
    files = [p for p in (path, path.with_name(path.name + "-wal")) if p.is_file()]
    return {f"{p.name}:{n.decode()}": p.read_bytes().count(n) for p in files for n in needles}


def test_forget_leaves_no_bytes_of_the_person_in_the_ledger_files(people):
    """Deleted rows' bytes must not survive in free pages or the -wal, while another connection (the
    collector's ledger, as in production) keeps the file open."""
    from messaging.ledger import Ledger
    from streamloop.app.privacy import run_forget

    forgotten, kept = people
    ledger_path = get_settings().outbox_file
    other = Ledger(ledger_path)  # an open connection holding the WAL, idle between its transactions
    assert other._con().execute("select count(*) from contacts").fetchone()[0] >= 2
    needles = [f"{forgotten}@example.com".encode(), f'"{forgotten}"'.encode()]
    # GIVEN the person's address and JSON-quoted id are in the ledger's bytes
    assert sum(_raw_counts(ledger_path, needles).values()) > 0
    run_forget(forgotten, None)
    # THEN neither the database file nor its -wal holds them any more
    assert _raw_counts(ledger_path, needles) == dict.fromkeys(_raw_counts(ledger_path, needles), 0)
    # AND the other person's rows still read back through the open connection
    assert ledger_mentions(ledger_path, kept)["contacts"] == 1
    assert other._con().execute("select count(*) from contacts").fetchone()[0] >= 1


def test_forget_reports_residue_while_a_reader_blocks_the_checkpoint(people):
    """A read transaction held across the deletion keeps the WAL's old frames needed: the deletion must say
    its bytes may remain (incomplete), not claim success; once the reader ends, forgetting again finishes."""
    from streamloop.core.privacy.erasers import SQLiteFileEraser
    from streamloop.core.privacy.forget import forget
    from streamloop.core.privacy.subjects import Subject

    forgotten, _ = people
    settings = get_settings()
    ledger_path = settings.outbox_file
    eraser = SQLiteFileEraser("messaging ledger", ledger_path, busy_timeout_s=0.5)
    reader = sqlite3.connect(ledger_path, isolation_level=None)
    try:
        reader.execute("begin")
        reader.execute("select count(*) from contacts").fetchone()  # a snapshot older than the delete
        report = forget(Subject("profile", forgotten), settings, erasers=[eraser])
        assert report.stores["messaging ledger"] > 0 and report.remaining == {"messaging ledger": 0}
        assert not report.complete and "messaging ledger" in report.residue, report.to_json()
        assert "checkpoint" in report.problems()
    finally:
        reader.execute("rollback")
        reader.close()
    again = forget(Subject("profile", forgotten), settings, erasers=[eraser])
    assert again.complete, again.problems()
    assert sum(_raw_counts(ledger_path, [f"{forgotten}@example.com".encode()]).values()) == 0
