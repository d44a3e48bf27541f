"""The one campaign runner behind every door (CLI, Lambda, Dagster): decide, claim, deliver, report.

A run at instant `at`:
1. closes `sending` messages of dead runners as failed (never resent), then, per campaign in priority order,
   selects the audience (scheduled campaigns whose cron ticked in the current period) or the due triggers
   (event and catalog campaigns), and decides each profile with `messaging.rules.decide`;
2. claims every recorded decision in the ledger (deterministic id per campaign, profile and period) —
   a message another run already claimed is counted `already_claimed` and left alone — and only then
   consumes the campaign's triggers, so a run that fails before its claims leaves them to the next run;
3. delivers what is due now (new claims and held messages whose moment came), writing the message events;
4. exports message events and the ledger to the lake for the warehouse.
`dry_run` does steps 1-2 in memory against a read-only view of the ledger and writes nothing anywhere.
`workers=N` runs steps 1-3 in N forked processes, each over the profiles of one shard and exporting its
own message events; the parent then exports what is left and the ledger snapshot once.
"""
from __future__ import annotations

import logging
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from messaging import audience as audiences
from messaging import contacts, rules
from messaging.campaigns import Campaign, CampaignError, CampaignSet
from messaging.content import render
from messaging.delivery import Delivery, DeliveryError, OutgoingMessage
from messaging.events import message_event
from messaging.ledger import sqlite_opener
from messaging.records import Claim, LocalWrite, MessagingState, iso, new_owner
from messaging.triggers import TriggerQueue

log = logging.getLogger("streamloop.messaging")
HISTORY_DAYS = 400  # caps look back at most a year (FrequencyCap.days ≤ 365) plus the held horizon


class WorkerError(RuntimeError):
    """A worker of a sharded run failed; the run exported nothing."""


@dataclass
class CampaignResult:
    campaign_id: str
    audience: int = 0
    sent: int = 0
    held: int = 0
    failed: int = 0
    suppressed: Counter = field(default_factory=Counter)

    def to_json(self) -> dict:
        return {"campaign_id": self.campaign_id, "audience": self.audience, "sent": self.sent, "held": self.held,
                "failed": self.failed, "suppressed": dict(sorted(self.suppressed.items()))}


@dataclass
class RunSummary:
    at: datetime
    dry_run: bool
    campaigns: list[CampaignResult]
    errors: list[CampaignError] = field(default_factory=list)
    exported_events: int = 0

    def to_json(self) -> dict:
        return {"at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"), "dry_run": self.dry_run,
                "campaigns": [c.to_json() for c in self.campaigns],
                "errors": [{"file": e.file, "field": e.field, "reason": e.reason} for e in self.errors]}

    def render(self) -> str:
        lines = [f"campaigns at {self.to_json()['at']}{' (dry run: nothing written)' if self.dry_run else ''}"]
        for c in self.campaigns:
            held_out = ", ".join(f"{k} {v}" for k, v in sorted(c.suppressed.items())) or "none"
            lines.append(f"  {c.campaign_id}: audience {c.audience}, sent {c.sent}, held {c.held}, "
                         f"failed {c.failed}; not sent: {held_out}")
        lines += [f"  rejected {e}" for e in self.errors]
        return "\n".join(lines)


@dataclass
class Decided:
    """One decision about to be claimed, with what delivery needs later."""

    claim: Claim
    row: dict
    subject_title: dict | None = None


class Runner:
    def __init__(self, campaigns: CampaignSet, ledger_path: Path, warehouse_path: Path, policy: rules.Policy,
                 deliveries: dict[str, Delivery], store=None, contact_secret: str = "", unsubscribe_secret: str = "",
                 public_url: str = "http://localhost:8000", lake=None, fail_after=None, local_batch: int = 5000,
                 page_size: int = 50_000, open_ledger: Callable[..., MessagingState | None] | None = None):
        self.campaigns = campaigns
        self.ledger_path = Path(ledger_path)
        # open_ledger(read_only=False): the messaging state (SQLite at ledger_path unless given, e.g. DynamoDB);
        # read_only=True gives a view that cannot write, or None when there is no state yet
        self.open_ledger = open_ledger or sqlite_opener(self.ledger_path)
        self.warehouse_path = Path(warehouse_path)
        self.policy = policy
        self.deliveries = deliveries
        self.store = store
        self.contact_secret = contact_secret
        self.unsubscribe_secret = unsubscribe_secret
        self.public_url = public_url.rstrip("/")
        self.lake = lake
        self.fail_after = fail_after  # tests: a callable run after each delivery (simulates a crash)
        # local deliveries per transaction: fewer, larger commits matter most when two workers share the
        # SQLite file (each commit by one empties the other's page cache); 500 -> 5000 took 1M profiles
        # on two workers from 28 to 21 s of delivery
        self.local_batch = local_batch
        self._sent_events: list[dict] | None = None  # a worker keeps its committed events to export them itself
        self.page_size = page_size  # due messages read per page

    # -- the run -----------------------------------------------------------------------------------
    def run(self, at: datetime, dry_run: bool = False, workers: int = 1) -> RunSummary:
        """`workers` > 1 splits the audience across that many forked processes by profile (`_run_sharded`);
        a dry run always runs in this process."""
        at = at.astimezone(UTC)
        if workers < 1:
            raise ValueError(f"workers must be at least 1 (got {workers})")
        if workers > 1 and not dry_run:
            return self._run_sharded(at, workers)
        ledger = None if dry_run else self.open_ledger()
        owner = new_owner()
        results = {c.id: CampaignResult(c.id) for c in self.campaigns.campaigns}
        if ledger is not None:
            ledger.close_interrupted()
        self._decide_and_claim(ledger, at, owner, results, dry_run)
        if dry_run:
            return RunSummary(at, True, list(results.values()), list(self.campaigns.errors))
        exported = self._deliver_and_export(ledger, [at], owner, results)
        return RunSummary(at, False, list(results.values()), list(self.campaigns.errors), exported)

    def _decide_and_claim(self, ledger: MessagingState | None, at: datetime, owner: str,
                          results: dict[str, CampaignResult], dry_run: bool,
                          shard: tuple[int, int] | None = None) -> list[dict]:
        """Steps 1-2 for every campaign in priority order (of one shard's profiles when given). Returns the
        catalog triggers a shard read but did not consume: they reach profiles of every shard, so the parent
        consumes them once all shards have claimed."""
        history = self._history(ledger, at)
        left: list[dict] = []
        with duckdb.connect(str(self.warehouse_path), read_only=True) as con:
            policy = self._policy_with_population_hour(con)  # over the whole mart, in every shard alike
            for campaign in self.campaigns.campaigns:
                decided, triggers = self._decide_campaign(con, campaign, at, policy, history, results[campaign.id],
                                                          ledger, dry_run, shard)
                if dry_run:
                    continue
                won = ledger.claim([d.claim for d in decided], owner) if decided else set()
                if shard is not None:
                    left += [t for t in triggers if t["profile_id"] == "*"]
                    triggers = [t for t in triggers if t["profile_id"] != "*"]
                if triggers:  # claimed or decided against: done (a failure before this line leaves them pending)
                    TriggerQueue(ledger).consume(triggers)
                for d in decided:
                    if d.claim.message_id not in won:
                        results[campaign.id].suppressed["already_claimed"] += 1
                        if d.claim.status == "queued":  # it does not count twice toward this run's caps
                            self._forget(history, d)
                    elif d.claim.status == "queued" and d.claim.is_held:
                        results[campaign.id].held += 1
                self._deliver_claimed(ledger, decided, won, at, owner, results)
        return left

    # -- a run split across processes ---------------------------------------------------------------
    def _run_sharded(self, at: datetime, workers: int) -> RunSummary:
        """Each forked worker decides, claims and delivers the profiles of its shard (DuckDB's hash of the
        profile id, `audiences.shard_sql`); the parent then consumes catalog triggers and exports once.
        Everything a decision reads is per profile (mart row, contacts, consents, cap history, the two hash
        draws) or the same in every shard (the population's viewing hour), and a profile is in one shard for
        every campaign, so caps and priority between campaigns hold as in one process. Claims and take_due
        are safe under concurrent runners; a failed worker fails the run before the export, and the next run
        finishes its work (claims stay, triggers of what was not claimed stay pending)."""
        from streamloop.core.store.sqlite import SQLiteStore

        external = sorted(k for k, d in self.deliveries.items() if not d.local)
        if external or not (self.store is None or isinstance(self.store, SQLiteStore)):
            # provider clients and thread pools do not survive fork(); the embedded setup is what was measured
            raise ValueError("workers > 1 needs local deliveries and no online store or the SQLite one "
                             f"(external channels: {', '.join(external) or 'none'}; store: {type(self.store).__name__})")
        ledger = self.open_ledger()
        try:
            ledger.close_interrupted()  # once, before any worker holds a lease
        finally:
            ledger.close()
        context = multiprocessing.get_context("fork")  # workers inherit the runner: nothing to pickle
        started = []
        for k in range(workers):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=self._run_shard, args=(at, (k, workers), send),
                                      name=f"campaigns-shard-{k}")
            process.start()
            send.close()
            started.append((process, receive))
        outcomes = []
        for k, (process, receive) in enumerate(started):
            try:
                outcomes.append(receive.recv())
            except EOFError:  # died without a word (killed, out of memory)
                outcomes.append(("error", f"shard {k}/{workers} died"))
            process.join()
            receive.close()
        failures = [detail for kind, detail in outcomes if kind == "error"]
        if failures:
            raise WorkerError("campaign run failed in a worker (its claims stay for the next run): "
                              + "; ".join(failures))
        results = {c.id: CampaignResult(c.id) for c in self.campaigns.campaigns}
        catalog: dict[tuple, dict] = {}
        exported = 0
        for _, (part, left, by_worker) in outcomes:
            exported += by_worker
            for campaign_id, r in part.items():
                total = results.setdefault(campaign_id, CampaignResult(campaign_id))
                total.audience += r.audience
                total.sent += r.sent
                total.held += r.held
                total.failed += r.failed
                total.suppressed.update(r.suppressed)
            for t in left:
                catalog[(t["trigger_id"], t["due_at"])] = t
        ledger = self.open_ledger()
        try:
            if catalog:
                TriggerQueue(ledger).consume(list(catalog.values()))
            exported += self.export(ledger)  # what no worker exported (left by an earlier failed run)
        finally:
            ledger.close()
        return RunSummary(at, False, list(results.values()), list(self.campaigns.errors), exported)

    def _run_shard(self, at: datetime, shard: tuple[int, int], send) -> None:
        """A worker's body (after fork): sends ("ok", (results, catalog triggers left)) or ("error", reason)."""
        try:
            from streamloop.core.store.sqlite import SQLiteStore

            if self.store is not None:  # SQLite connections must not cross fork(): a fresh one, same file
                self.store = SQLiteStore(self.store.path, self.store.busy_timeout_s)
            ledger = self.open_ledger()
            owner = new_owner()
            results = {c.id: CampaignResult(c.id) for c in self.campaigns.campaigns}
            self._sent_events = []
            try:
                left = self._decide_and_claim(ledger, at, owner, results, False, shard)
                self._deliver_due(ledger, at, owner, results)
                exported = self._export_events(ledger, self._sent_events)  # in parallel, not in the parent
            finally:
                ledger.close()
            send.send(("ok", (results, left, exported)))
        except BaseException as exc:  # noqa: BLE001 (reported to the parent, which fails the run)
            send.send(("error", f"shard {shard[0]}/{shard[1]}: {type(exc).__name__}: {exc}"))
        finally:
            send.close()

    def deliver(self, moments: Iterable[datetime]) -> RunSummary:
        """Deliver what came due by each moment, in order, deciding nothing new. A scheduled `run` does this
        as its last step every few minutes; the twin (streamloop/app/twin/loop.py) decides on its own schedule
        and calls this for every simulated hour, so messages queued for an optimal send time go out on time."""
        moments = sorted(m.astimezone(UTC) for m in moments)
        if not moments:
            raise ValueError("deliver needs at least one moment")
        ledger = self.open_ledger()
        owner = new_owner()
        results = {c.id: CampaignResult(c.id) for c in self.campaigns.campaigns}
        ledger.close_interrupted()
        exported = self._deliver_and_export(ledger, moments, owner, results)
        return RunSummary(moments[-1], False, list(results.values()), list(self.campaigns.errors), exported)

    def _deliver_and_export(self, ledger: MessagingState, moments: list[datetime], owner: str,
                            results: dict[str, CampaignResult]) -> int:
        """Steps 3-4: what is due at each moment in order, then the export; closes the ledger."""
        try:
            for at in moments:
                self._deliver_due(ledger, at, owner, results)
            return self.export(ledger)
        finally:
            ledger.close()

    def _decide_campaign(self, con, campaign: Campaign, at: datetime, policy: rules.Policy, history: dict,
                         result: CampaignResult, ledger: MessagingState | None, dry_run: bool,
                         shard: tuple[int, int] | None = None) -> tuple[list[Decided], list[dict]]:
        """The campaign's decisions to claim, and the triggers they were decided from (to consume after)."""
        triggers: list[dict] = []
        if campaign.trigger.kind == "schedule":
            period = scheduled_period(campaign, at)
            if period is None:
                return [], []
            rows = audiences.select_audience(con, campaign.audience, at, shard)
            items = [(row, period, at, None) for row in rows]
        else:
            triggers, items = self._due_triggers(con, campaign, at, ledger, shard)
        result.audience = len(items)
        if not items:
            return [], triggers
        ids = [row["profile_id"] for row, *_ in items]
        addresses = contacts.contacts_for(ledger, ids) if ledger is not None else self._read_only(
            lambda lg: contacts.contacts_for(lg, ids), {})
        overrides = contacts.consents_for(ledger, ids) if ledger is not None else self._read_only(
            lambda lg: contacts.consents_for(lg, ids), {})
        ids_of = [rules.message_id(campaign.id, r["profile_id"], p) for r, p, *_ in items]
        existing = ledger.existing(ids_of, campaign.id) if ledger is not None else self._read_only(
            lambda lg: lg.existing(ids_of, campaign.id), set())
        decided: list[Decided] = []
        deciders: dict[datetime, rules.Decider] = {}
        for (row, period, due, subject_title), mid in zip(items, ids_of):
            profile_id = row["profile_id"]
            if mid in existing:
                result.suppressed["already_claimed"] += 1
                continue
            state = profile_state(row, addresses.get(profile_id, {}), overrides.get(profile_id, {}))
            past = [rules.PastMessage(c, t) for c, t in history.get(profile_id, ())]
            decider = deciders.get(due) or deciders.setdefault(due, rules.Decider(campaign, due, policy, at))
            decision = decider(state, past)
            if decision.outcome == "suppressed":
                result.suppressed[decision.reason] += 1
                continue
            if decision.outcome in ("control", "holdout"):
                result.suppressed[decision.reason] += 1
            if decision.counts_toward_caps:
                history.setdefault(profile_id, []).append((campaign.id, decision.send_at))
                if dry_run:
                    if decision.outcome == "send":
                        result.sent += 1
                    else:
                        result.held += 1
            grp = {"control": "control", "holdout": "holdout"}.get(decision.outcome, "treated")
            status = {"control": "control", "holdout": "holdout"}.get(decision.outcome, "queued")
            context = event_context(row, state)
            if subject_title:
                context["subject_title"] = subject_title
            claim = Claim(mid, campaign.id, profile_id, period, grp, decision.channel, status, decision.reason,
                          decision.outcome == "held", at, decision.send_at or due, context)
            decided.append(Decided(claim, row, subject_title))
        return decided, triggers

    def _forget(self, history: dict, d: Decided) -> None:
        entries = history.get(d.claim.profile_id, [])
        entry = (d.claim.campaign_id, d.claim.send_at)
        if entry in entries:
            entries.remove(entry)

    # -- triggers ----------------------------------------------------------------------------------
    def _due_triggers(self, con, campaign: Campaign, at: datetime, ledger: MessagingState | None,
                      shard: tuple[int, int] | None = None) -> tuple[list, list]:
        """(the due triggers, one decision item per profile they reach); reading consumes nothing. In a
        shard: a profile's triggers only if the profile is in it (another shard consumes the rest), every
        catalog trigger (reaching only the shard's audience)."""
        if ledger is not None:
            due = TriggerQueue(ledger).due(campaign.id, at)
        else:  # a dry run reads the queue through a read-only connection
            due = self._read_only(lambda lg: TriggerQueue(lg).due(campaign.id, at), [])
        if shard is not None and due:
            mine = audiences.in_shard(con, [t["profile_id"] for t in due if t["profile_id"] != "*"], shard)
            due = [t for t in due if t["profile_id"] == "*" or t["profile_id"] in mine]
        if not due:
            return [], []
        profiles = {r["profile_id"]: r for r in audiences.select_audience(con, campaign.audience, at, shard)}
        items = []
        for trigger in due:
            if trigger["profile_id"] == "*":  # a catalog trigger: every profile that binged the series
                for profile_id in bingers(con, trigger["context"].get("series_id")):
                    if profile_id in profiles:
                        items.append((profiles[profile_id], trigger["subject"], trigger["due_at"], trigger["context"]))
            elif trigger["profile_id"] in profiles:
                items.append((profiles[trigger["profile_id"]], trigger["subject"], trigger["due_at"],
                              trigger["context"]))
        return due, items

    # -- delivery ----------------------------------------------------------------------------------
    def _deliver_due(self, ledger: MessagingState, at: datetime, owner: str, results: dict[str, CampaignResult]) -> None:
        """Local deliveries commit in batches (message, status and event in one transaction: a crash loses
        the uncommitted batch, which stays queued for the next run); external ones go one by one."""
        after = ("", "")
        while due := ledger.take_due(at, owner, limit=self.page_size, after=after):
            after = max((r["send_at"], r["message_id"]) for r in due)
            self._deliver_page(ledger, due, at, owner, results)

    def _deliver_claimed(self, ledger: MessagingState, decided: list[Decided], won: set[str], at: datetime,
                         owner: str, results: dict[str, CampaignResult]) -> None:
        """Local messages this run just claimed and that are due now go out straight from the decisions, in
        claim order: no read-back through take_due (a row read and a context parse per message), and the
        ledger rows they settle were written in the same order. deliver_local still settles only messages that
        are queued and ours, so this is the same exactly-once step; held and external messages wait for
        `_deliver_due`."""
        rows = [{"message_id": c.message_id, "campaign_id": c.campaign_id, "profile_id": c.profile_id,
                 "channel": c.channel, "context": c.context}
                for c in (d.claim for d in decided)
                if c.message_id in won and c.status == "queued" and not c.is_held and c.send_at <= at
                and self.deliveries[c.channel].local]
        for start in range(0, len(rows), self.page_size):
            self._deliver_page(ledger, rows[start:start + self.page_size], at, owner, results)

    def _deliver_page(self, ledger: MessagingState, due: list[dict], at: datetime, owner: str,
                      results: dict[str, CampaignResult]) -> None:
        addresses = contacts.contacts_for(ledger, {r["profile_id"] for r in due})
        batch: list[tuple[dict, OutgoingMessage, CampaignResult]] = []
        for row in due:
            campaign = self.campaigns.get(row["campaign_id"])
            result = results.setdefault(row["campaign_id"], CampaignResult(row["campaign_id"]))
            if campaign is None:  # its file was removed or broke after the claim: keep it queued, say so
                result.suppressed["campaign_unavailable"] += 1
                continue
            message = self._message(campaign, row, addresses.get(row["profile_id"], {}))
            if self.deliveries[row["channel"]].local:
                batch.append((row, message, result))
                if len(batch) >= self.local_batch:
                    self._deliver_local(ledger, batch, at, owner)
                    batch = []
            else:
                self._deliver_external(ledger, row, message, at, owner, result)
                if self.fail_after is not None:
                    self.fail_after()
        if batch:
            self._deliver_local(ledger, batch, at, owner)

    def _message(self, campaign: Campaign, row: dict, addresses: dict) -> OutgoingMessage:
        channel = row["channel"]
        profile = {**row["context"].get("profile", {}), "profile_id": row["profile_id"]}
        headers = {}
        unsubscribe_url = None
        if channel == "email":
            token = contacts.unsubscribe_token(self.unsubscribe_secret, row["profile_id"], channel, row["message_id"])
            unsubscribe_url = f"{self.public_url}/v1/unsubscribe/{token}"
            headers = {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        content = render(campaign, profile, self.store, row["context"].get("subject_title"), unsubscribe_url)
        return OutgoingMessage(row["message_id"], row["campaign_id"], row["profile_id"], channel,
                               addresses.get(channel), content.subject, content.body, headers)

    def _deliver_local(self, ledger: MessagingState, batch: list, at: datetime, owner: str) -> None:
        written = iso(at)
        writes = []
        for row, message, _ in batch:
            adapter = self.deliveries[row["channel"]]
            writes.append(LocalWrite(row["message_id"], adapter.kind, adapter.record(message, written),
                                     message_event("message_sent", row, at)))
            if self.fail_after is not None:  # a crash here loses the uncommitted batch: it stays queued
                self.fail_after()
        done = ledger.deliver_local(writes, owner, at)
        if self._sent_events is not None:
            self._sent_events += [w.event for w in writes if w.message_id in done]
        for row, _, result in batch:  # counted once committed
            if row["message_id"] in done:
                result.sent += 1

    def _deliver_external(self, ledger: MessagingState, row: dict, message: OutgoingMessage, at: datetime, owner: str,
                          result: CampaignResult) -> None:
        if not ledger.mark_sending(row["message_id"], owner):
            return
        try:
            self.deliveries[row["channel"]].deliver(message)
        except DeliveryError as exc:
            ledger.finish(row["message_id"], owner, "failed", at, exc.reason)
            result.failed += 1
            log.warning("message %s failed: %s", row["message_id"], exc.reason)
            return
        if ledger.finish(row["message_id"], owner, "sent", at, events=[message_event("message_sent", row, at)]):
            result.sent += 1

    # -- export ------------------------------------------------------------------------------------
    def export(self, ledger: MessagingState) -> int:
        """Message events to the lake (as contract events) and the ledger snapshot for campaign_sends."""
        if self.lake is None:
            return 0
        from messaging.export import export_events, export_ledger

        exported = export_events(ledger, self.lake)
        export_ledger(ledger, self.lake)
        return exported

    def _export_events(self, ledger: MessagingState, events: list[dict]) -> int:
        if self.lake is None:
            return 0
        from messaging.export import export_events

        return export_events(ledger, self.lake, events)

    # -- helpers -----------------------------------------------------------------------------------
    def _history(self, ledger: MessagingState | None, at: datetime) -> dict:
        since = at - timedelta(days=HISTORY_DAYS)
        if ledger is not None:
            return ledger.all_history(since)
        return self._read_only(lambda lg: lg.all_history(since), {})

    def _read_only(self, fn, empty):
        """Dry runs read the ledger through a read-only view (and an absent ledger as empty)."""
        reader = self.open_ledger(read_only=True)
        if reader is None:
            return empty
        try:
            return fn(reader)
        finally:
            reader.close()

    def _policy_with_population_hour(self, con) -> rules.Policy:
        try:
            hour = con.execute(f"select mode(preferred_hour_local) from {audiences.MART}").fetchone()[0]
        except duckdb.Error:
            hour = None
        if hour is None:
            return self.policy
        return rules.Policy(self.policy.daily_cap, self.policy.control_percent, self.policy.default_consent, int(hour))


def scheduled_period(campaign: Campaign, at: datetime) -> str | None:
    """The period of the campaign's latest cron tick at or before `at`, if that tick is in `at`'s period
    (a weekly Monday campaign runs on any run from Monday's tick to Sunday, once)."""
    from croniter import croniter

    tick = croniter(campaign.trigger.schedule, at + timedelta(microseconds=1)).get_prev(datetime)
    tick = tick if tick.tzinfo else tick.replace(tzinfo=UTC)
    period = rules.period_key(campaign, at)
    if campaign.period == "once" or rules.period_key(campaign, tick) == period:
        return period
    return None


_CHANNELS = ("email", "push", "in_app")
# mart column names per channel, built once: profile_state runs once per audience row (up to millions)
_CONSENT_COLUMNS = tuple((c, f"consent_{c}") for c in _CHANNELS)
_OPENS_COLUMNS = tuple((c, f"{c}_opens") for c in _CHANNELS)
_SENDS_COLUMNS = tuple((c, f"{c}_sends") for c in _CHANNELS)
_CONTEXT_COLUMNS = ("country", "device_type", "app_version", "os", "timezone")
_PROFILE_COLUMNS = ("country", "maturity_rating", "is_kids", "language", "plan", "timezone")


def profile_state(row: dict, addresses: dict, overrides: dict) -> rules.ProfileState:
    get = row.get
    consent = {c: get(column) for c, column in _CONSENT_COLUMNS}
    if overrides:
        consent.update(overrides)
    hour = get("preferred_hour_local")
    return rules.ProfileState(
        profile_id=row["profile_id"], timezone=get("timezone"), consent=consent,
        contacts=frozenset(addresses), preferred_hour=int(hour) if hour is not None else None,
        opens={c: int(get(column) or 0) for c, column in _OPENS_COLUMNS},
        sends={c: int(get(column) or 0) for c, column in _SENDS_COLUMNS})


def event_context(row: dict, state: rules.ProfileState) -> dict:
    """What message events and the rendered content need later: the profile's real latest context."""
    get = row.get
    return {"account_id": get("account_id"), "device_id": get("device_id"),
            "context": {k: get(k) for k in _CONTEXT_COLUMNS}, "profile": {k: get(k) for k in _PROFILE_COLUMNS}}


def bingers(con, series_id: str | None, min_episodes: int = 3) -> list[str]:
    """Profiles that completed at least `min_episodes` episodes of the series."""
    if not series_id:
        return []
    return [r[0] for r in con.execute(
        "select plays.profile_id from plays inner join titles on plays.title_id = titles.title_id "
        "where titles.series_id = ? and plays.is_completed group by plays.profile_id "
        "having count(distinct plays.title_id) >= ?", [series_id, min_episodes]).fetchall()]
