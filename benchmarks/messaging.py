"""Lifecycle messaging: a scheduled run over N profiles (decide, claim, write the outbox, export the events
and the ledger), and collector throughput with and without messaging's hook in the same run.

    .venv/bin/python benchmarks/messaging.py [--profiles 1000000] [--collector-batches 60] [--workers 2]

The warehouse is a real DuckDB file whose `messaging_profiles` is generated in SQL (time zones from 8 IANA
zones, a quarter without a consent record, half with a viewing hour, churn risks uniform); one campaign
selects everyone at risk (churn_risk ≥ 0.3, ~70 %), in-app (the embedded outbox), 10 % holdout, quiet hours.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/Berlin", "Europe/London", "Asia/Tokyo",
         "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata"]


def make_warehouse(path: Path, profiles: int) -> None:
    import duckdb

    from messaging.audience import mart_columns

    zones = "[" + ", ".join(f"'{z}'" for z in ZONES) + "]"
    generated = {
        "profile_id": "'p' || i", "account_id": "'a' || (i // 3)", "device_id": "'d' || i",
        "is_kids": "i % 11 = 0", "maturity_rating": "'18+'", "country": "'US'",
        "timezone": f"{zones}[1 + (hash(i) % 8)::int]", "language": "'en'", "device_type": "'tv'",
        "os": "'tizen'", "app_version": "'5.2.0'", "plan": "'standard'", "subscription_status": "'active'",
        "is_trial": "false", "churn_risk": "(hash(i * 7) % 1000) / 1000.0",
        "consent_email": "case when i % 4 = 0 then null else i % 3 = 0 end",
        "consent_push": "case when i % 4 = 0 then null else i % 2 = 0 end",
        "consent_in_app": "case when i % 4 = 0 then null else true end",
        "preferred_hour_local": "case when i % 2 = 0 then (17 + i % 6)::integer end",
        "last_active_at": "timestamp '2026-02-01'", "last_play_at": "timestamp '2026-02-01'",
    }
    columns = mart_columns()
    select = ", ".join(f"{generated.get(name, f'null::{kind}' if 'int' not in kind else '0')} as \"{name}\""
                       for name, kind in columns.items())
    with duckdb.connect(str(path)) as con:
        con.execute(f"create table messaging_profiles as select {select} from range({profiles}) t(i)")
        con.execute("create table titles (title_id varchar, series_id varchar, kind varchar)")
        con.execute("create table plays (profile_id varchar, title_id varchar, is_completed boolean)")


def cpu_seconds() -> tuple[float, float]:
    """(user + system of this process, of its waited-for children: the run's forked workers)."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


def bench_run(profiles: int, local_batch: int | None = None, workers: int = 1) -> dict:
    from support.messaging import campaign, runner

    from messaging.content import render  # noqa: F401 (imported before timing, as in a warm process)
    from streamloop.core.lake import Lake

    at = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as home:
        home = Path(home)
        started = time.perf_counter()
        make_warehouse(home / "warehouse.duckdb", profiles)
        generate_s = time.perf_counter() - started
        at_risk = campaign(id="winback_bench", audience="churn_risk >= 0.3", channel="best",
                           channels=["push", "email", "in_app"], holdout_percent=10,
                           quiet_hours={"start": "21:00", "end": "09:00"},
                           content={"subject": "{{ profile.country }}: something new",
                                    "body": "Hello again. {% if titles %}{{ titles[0].name }}{% endif %}",
                                    "recommendations": 0})
        r = runner(home, [at_risk], lake=Lake(home / "lake"), **({"local_batch": local_batch} if local_batch else {}))
        start, (own, children) = time.perf_counter(), cpu_seconds()
        summary = r.run(at, workers=workers)
        own_after, children_after = cpu_seconds()
        elapsed, own, children = time.perf_counter() - start, own_after - own, children_after - children
        digests = run_digests(home / "outbox.sqlite")
        start2 = time.perf_counter()
        again = r.run(at, workers=workers)
        rerun_s = time.perf_counter() - start2
    result = summary.campaigns[0]
    return {"profiles": profiles, "workers": workers, "generate_s": generate_s, "seconds": elapsed, "cpu_s": own + children,
            "parent_cpu_s": own, "workers_cpu_s": children,
            "audience": result.audience, "sent": result.sent, "held": result.held,
            "suppressed": dict(result.suppressed), "exported": summary.exported_events, "rerun_s": rerun_s,
            "rerun_sent": again.campaigns[0].sent, "digests": digests}


def run_digests(ledger_path: Path) -> dict:
    """sha256 over what a run decided and wrote, sorted by message id, so a change to the runner can show
    it sends and holds the same messages with the same content: ledger rows (status, group, channel,
    held, send time), outbox/inbox records (subject, body, headers) and message events."""
    import hashlib
    import sqlite3

    queries = {
        "ledger": "select message_id, status, grp, channel, reason, is_held, send_at, sent_at, context "
                  "from messages order by message_id",
        "local": "select message_id, channel, address, subject, body, headers from outbox union all "
                 "select message_id, 'inbox', profile_id, subject, body, delivered_at from inbox order by 1",
        "events": "select event_id, body from message_events order by event_id",
    }
    con = sqlite3.connect(ledger_path)
    try:
        out = {}
        for name, sql in queries.items():
            digest = hashlib.sha256()
            for row in con.execute(sql):
                digest.update(repr(row).encode())
            out[name] = digest.hexdigest()[:16]
        return out
    finally:
        con.close()


def bench_collector(batches_n: int, size: int = 500) -> dict:
    """Alternates batches through a collector without and with the hook (same process, same store kind),
    so machine load hits both equally; reports events/s of each and their ratio."""
    from collector import make_batches, seeded_home

    from functions.services import Services
    from streamloop.core.settings import Settings

    batches = make_batches(batches_n * 2, size, seed=3)
    rng = random.Random(5)
    for batch in batches:  # a realistic share of trigger and contact events on top of the collector's mix
        for event in rng.sample(batch, size // 25):
            event["event_type"], event["properties"] = "play_stop", {"title_id": event["properties"].get(
                "title_id", "t1"), "position_s": 600}
        for event in rng.sample(batch, 2):
            event["event_type"], event["properties"] = "contact_updated", {"channel": "email",
                                                                           "address": f"{event['profile_id']}@x.com"}
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        plain = Services(Settings(home=seeded_home(Path(a)), api_keys="k"))
        plain.collector.messaging = None
        hooked = Services(Settings(home=seeded_home(Path(b)), api_keys="k"))
        for services in (plain, hooked):
            for batch in make_batches(2, size, seed=99):
                services.collector.ingest(batch)
        times = {"without": 0.0, "with": 0.0}
        cpu = {"without": 0.0, "with": 0.0}
        for i in range(batches_n):
            for name, services, batch in (("without", plain, batches[2 * i]), ("with", hooked, batches[2 * i + 1])):
                t, c = time.perf_counter(), time.process_time()
                services.collector.ingest(batch)
                times[name] += time.perf_counter() - t
                cpu[name] += time.process_time() - c
        plain.close()
        hooked.close()
    events = batches_n * size
    eps = {k: events / v for k, v in times.items()}
    eps_cpu = {k: events / v for k, v in cpu.items()}
    return {"events_each": events, "eps": eps, "eps_per_cpu_s": eps_cpu, "ratio": eps["with"] / eps["without"],
            "ratio_cpu": eps_cpu["with"] / eps_cpu["without"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--collector-batches", type=int, default=60)
    parser.add_argument("--local-batch", type=int, help="local deliveries per transaction (the runner's default if unset)")
    parser.add_argument("--workers", type=int, default=1, help="processes splitting the run's audience (Runner.run)")
    parser.add_argument("--skip-run", action="store_true")
    parser.add_argument("--skip-collector", action="store_true")
    args = parser.parse_args()
    if not args.skip_run:
        r = bench_run(args.profiles, args.local_batch, args.workers)
        print(f"scheduled run over {r['profiles']:,} profiles, {r['workers']} worker(s) "
              f"(warehouse generated in {r['generate_s']:.1f}s): "
              f"{r['seconds']:.1f}s wall, {r['cpu_s']:.1f} CPU-s (this process {r['parent_cpu_s']:.1f}, "
              f"workers {r['workers_cpu_s']:.1f}); audience {r['audience']:,}, sent {r['sent']:,}, "
              f"held {r['held']:,}, exported events {r['exported']:,}, not sent {r['suppressed']}")
        print(f"rerun of the same tick: {r['rerun_s']:.1f}s, sent {r['rerun_sent']}")
        print("digests (sha256 prefix, sorted by id): " + ", ".join(f"{k} {v}" for k, v in r["digests"].items()))
    if not args.skip_collector:
        c = bench_collector(args.collector_batches)
        print(f"collector, {c['events_each']:,} events each, alternating batches: without hook "
              f"{c['eps']['without']:,.0f} ev/s ({c['eps_per_cpu_s']['without']:,.0f}/CPU-s), with hook "
              f"{c['eps']['with']:,.0f} ev/s ({c['eps_per_cpu_s']['with']:,.0f}/CPU-s): ratio {c['ratio']:.3f} wall, "
              f"{c['ratio_cpu']:.3f} CPU")


if __name__ == "__main__":
    main()
