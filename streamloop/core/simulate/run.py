"""Runs a simulation: builds the world, simulates shards of households (in parallel), lands it all in the lake.

Work is split into shards of households × weeks. Shards are fixed by the config (never by the number
of CPUs), each has its own seeded generators and its own batch ids, so a run is reproducible and
re-running a seed overwrites the same files. Each shard writes one week at a time: memory stays
bounded by one shard-week of events, whatever the total.
"""
from __future__ import annotations

import math
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from multiprocessing import get_all_start_methods, get_context

import numpy as np
import orjson
import pyarrow as pa

from streamloop.core.experiments import load_experiments
from streamloop.core.lake import RAW_SCHEMA, Lake, new_batch_id
from streamloop.core.progress import say, step
from streamloop.core.settings import get_settings
from streamloop.core.simulate.behaviour import HouseholdSimulator
from streamloop.core.simulate.catalog import Catalog, build_catalog
from streamloop.core.simulate.config import SimulationConfig
from streamloop.core.simulate.encode import DAY_MS, deliver
from streamloop.core.simulate.population import COUNTRY_CODES, Population, build_population

ACCOUNTS_PER_SHARD = 200
DAYS_PER_CHUNK = 7
SOURCE = "simulator"


@dataclass
class SimulationSummary:
    profiles: int
    accounts: int
    titles: int
    days: int
    start_date: str
    events_by_type: Counter = field(default_factory=Counter)
    late: int = 0
    duplicates: int = 0
    malformed: int = 0
    seconds: float = 0.0

    @property
    def events(self) -> int:
        return sum(self.events_by_type.values())

    @property
    def records(self) -> int:
        """Records landed in the lake: every event, plus duplicate deliveries and malformed records."""
        return self.events + self.duplicates + self.malformed

    def render(self) -> str:
        by_type = ", ".join(f"{name} {count:,}" for name, count in self.events_by_type.most_common())
        rate = self.events / self.seconds if self.seconds else 0.0
        return "\n".join([
            (f"simulated {self.profiles:,} profiles in {self.accounts:,} accounts over {self.days} days "
             f"from {self.start_date}; catalog of {self.titles:,} titles"),
            f"events: {self.events:,} ({by_type})",
            (f"deliveries: {self.late:,} late, {self.duplicates:,} duplicated, {self.malformed:,} malformed; "
             f"{self.records:,} records landed"),
            f"took {self.seconds:.1f}s ({rate:,.0f} events/s)",
        ])


@lru_cache(maxsize=2)
def build_world(config: SimulationConfig) -> tuple[Catalog, Population]:
    """The catalog and population: deterministic from the config, rebuilt cheaply in each worker."""
    rng = np.random.default_rng([config.seed, 0])
    catalog = build_catalog(config.profiles, config.days, config.start_date, COUNTRY_CODES, rng)
    return catalog, build_population(config.profiles, config.days, catalog, rng)


def _namespace(config: SimulationConfig) -> str:
    """What event ids and event batch ids are unique within: the seed AND the start date, so two runs with
    the same seed and different starts can land in one lake (no shared event id); the same seed and start
    always give the same ids."""
    return f"{config.seed}:{config.start_date.isoformat()}"


def _start_ms(config: SimulationConfig) -> int:
    start = config.start_date
    return int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)


def _table(batch_id: str, raws: list[str], received_ms: list[int]) -> pa.Table:
    n = len(raws)
    return pa.table({
        "batch_id": pa.array([batch_id] * n, pa.string()),
        "record_index": pa.array(np.arange(n, dtype=np.int32)),
        "received_at": pa.array(np.asarray(received_ms, dtype=np.int64) * 1000, pa.timestamp("us", tz="UTC")),
        "source": pa.array([SOURCE] * n, pa.string()),
        "raw": pa.array(raws, pa.string()),
    }, schema=RAW_SCHEMA)


def simulate_shard(config: SimulationConfig, lake_root: str, shard: int, shards: int) -> SimulationSummary:
    """Simulates one shard of households over all days, writing one lake batch per week."""
    catalog, population = build_world(config)
    lake = Lake(lake_root)
    n_accounts = len(population.account_ids)
    accounts = range(shard * ACCOUNTS_PER_SHARD, min(n_accounts, (shard + 1) * ACCOUNTS_PER_SHARD))
    simulator = HouseholdSimulator(catalog, population, config.start_date, config.seed, shard, accounts,
                                   load_experiments(config.experiments_dir))
    delivery_rng = np.random.default_rng([config.seed, shard, 29])
    start_ms = _start_ms(config)
    summary = SimulationSummary(0, 0, 0, config.days, str(config.start_date))
    carried_raws: list[str] = []        # late records whose receipt falls in a later week
    carried_received: list[int] = []
    chunks = math.ceil(config.days / DAYS_PER_CHUNK)
    for chunk in range(chunks):
        first, last = chunk * DAYS_PER_CHUNK, min(config.days, (chunk + 1) * DAYS_PER_CHUNK)
        for day in range(first, last):
            simulator.simulate_day(day)
        delivered = deliver(simulator.buffer, delivery_rng, late_rate=config.late_rate,
                            duplicate_rate=config.duplicate_rate, malformed_rate=config.malformed_rate,
                            latest_receipt_ms=start_ms + config.days * DAY_MS, id_namespace=_namespace(config))
        simulator.buffer.clear()
        summary.events_by_type.update(delivered.events_by_type)
        summary.late += delivered.late
        summary.duplicates += delivered.duplicates
        summary.malformed += delivered.malformed
        raws = carried_raws + delivered.raws
        received = carried_received + delivered.received_ms
        if chunk < chunks - 1:
            boundary = start_ms + (last + 1) * DAY_MS
            later = [i for i, ms in enumerate(received) if ms >= boundary]
            if later:
                keep = np.ones(len(raws), dtype=bool)
                keep[later] = False
                carried_raws = [raws[i] for i in later]
                carried_received = [received[i] for i in later]
                raws = [r for r, k in zip(raws, keep.tolist()) if k]
                received = [ms for ms, k in zip(received, keep.tolist()) if k]
            else:
                carried_raws, carried_received = [], []
        lake.write_table("events", _table(new_batch_id("sim", _namespace(config), f"{shard}-{chunk}"), raws, received))
        say(f"  shard {shard + 1}/{shards}, days {first + 1}–{last}: {len(raws):,} records")
    return summary


def run_simulation(config: SimulationConfig) -> SimulationSummary:
    """Simulates the service described by `config` and lands its catalog and events in the lake."""
    began = time.perf_counter()
    lake = Lake(get_settings().lake_root)
    with step(f"simulate {config.profiles:,} profiles × {config.days} days (seed {config.seed})"):
        catalog, population = build_world(config)
        shards = math.ceil(len(population.account_ids) / ACCOUNTS_PER_SHARD)
        workers = max(1, min(config.workers or os.cpu_count() or 1, shards))
        if workers == 1:
            parts = [simulate_shard(config, lake.root, s, shards) for s in range(shards)]
        else:
            # fork (before this process has started any Arrow threads) so callers need no __main__ guard
            method = "fork" if "fork" in get_all_start_methods() else "spawn"
            with ProcessPoolExecutor(workers, mp_context=get_context(method)) as pool:
                parts = list(pool.map(simulate_shard, [config] * shards, [lake.root] * shards, range(shards),
                                      [shards] * shards))
        catalog_raws = [orjson.dumps(record).decode() for record in catalog.records]
        lake.write_table("catalog", _table(new_batch_id("sim", str(config.seed), "catalog"), catalog_raws,
                                           [_start_ms(config)] * len(catalog_raws)))
    summary = SimulationSummary(config.profiles, len(population.account_ids), catalog.title_count, config.days,
                                str(config.start_date))
    for part in parts:
        summary.events_by_type.update(part.events_by_type)
        summary.late += part.late
        summary.duplicates += part.duplicates
        summary.malformed += part.malformed
    summary.seconds = time.perf_counter() - began
    return summary
