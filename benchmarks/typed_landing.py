"""What parse-once costs at landing: the lake's typing of event records (streamloop/core/contract/landed.py)
against the same writes untyped, and against DuckDB's parse of the same records (what staging did for
every record before, and still does for the untyped ones).

    .venv/bin/python benchmarks/typed_landing.py [--profiles 300] [--days 30]

Simulates a lake once (the simulator's records: valid events of every type plus its malformed ones), then
lands its records again in batches of 50,000 three ways, each timed in CPU seconds of this process:
- untyped: Lake.write_table(..., typed=False), the floor (Arrow table, zstd Parquet, fsync);
- typed: the same writes with the typed columns computed (the lake parses and validates each text);
- typed, events handed over: as the collector, ingest and importers land, passing the events they
  parsed and validated (`validated=`), so the lake skips its own parse and validation;
- the contract validator alone (validate_event on the parsed records), the part of typing the edge
  already paid;
- DuckDB's parse: one scan of the untyped files parsing each record's JSON into staging's fields
  (`from_json` with the envelope, context and properties shape), one thread, for scale.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from streamloop.core.contract import validate_event
from streamloop.core.contract.landed import CONTEXT_FIELDS, PROPERTY_TYPES
from streamloop.core.lake import RAW_SCHEMA, Lake
from streamloop.core.settings import get_settings
from streamloop.core.simulate import SimulationConfig, run_simulation

BATCH = 50_000


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def land(tables: list[pa.Table], root: Path, typed: bool, handed: list[list] | None = None) -> tuple[float, float]:
    lake = Lake(root)
    batches = [table.set_column(0, "batch_id", pa.array([f"b{number:05d}"] * table.num_rows))
               for number, table in enumerate(tables)]
    began, began_cpu = time.perf_counter(), cpu()
    for number, batch in enumerate(batches):
        lake.write_table("events", batch, typed=typed, validated=handed[number] if handed else None)
    return time.perf_counter() - began, cpu() - began_cpu


def edge_events(table: pa.Table) -> list:
    """What an edge hands the lake: each record parsed, and kept when the validator accepts it."""
    out = []
    for raw, received_at in zip(table.column("raw").to_pylist(), table.column("received_at").to_pylist(),
                                strict=True):
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            event = None
        out.append(event if isinstance(event, dict) and not validate_event(event, received_at) else None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=300)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="typed-landing-"))
    os.environ["STREAMLOOP_HOME"] = str(work / "home")
    get_settings.cache_clear()
    run_simulation(SimulationConfig(profiles=args.profiles, days=args.days, seed=7, workers=1))
    source = Lake(get_settings().lake_root)
    whole = pa.concat_tables([pq.read_table(path, columns=RAW_SCHEMA.names).cast(RAW_SCHEMA)
                              for path in source.files("events")])
    tables = [whole.slice(start, BATCH) for start in range(0, whole.num_rows, BATCH)]
    n = whole.num_rows
    print(f"{n:,} records ({sum(len(r) for r in whole.column('raw').to_pylist()) / 2**20:.0f} MiB of JSON text)")
    untyped_wall, untyped_cpu = land(tables, work / "untyped", typed=False)
    typed_wall, typed_cpu = land(tables, work / "typed", typed=True)
    handed = [edge_events(table) for table in tables]
    handed_wall, handed_cpu = land(tables, work / "handed", typed=True, handed=handed)
    parsed = [(event, at) for table, events in zip(tables, handed, strict=True)
              for event, at in zip(events, table.column("received_at").to_pylist(), strict=True) if event]
    began, began_cpu = time.perf_counter(), cpu()
    for event, at in parsed:
        validate_event(event, at)
    validate_wall, validate_cpu = time.perf_counter() - began, cpu() - began_cpu
    shape = {"event_id": "VARCHAR", "event_type": "VARCHAR", "occurred_at": "VARCHAR", "device_id": "VARCHAR",
             "profile_id": "VARCHAR", "account_id": "VARCHAR", "schema_version": "JSON",
             "context": {name: "VARCHAR" for name in CONTEXT_FIELDS},
             "properties": {name: "JSON" for name in PROPERTY_TYPES}}
    con = duckdb.connect()
    con.execute("set threads = 1")
    con.execute("set enable_progress_bar = false")
    glob = f"{work / 'untyped'}/events/*/*.parquet"
    began, began_cpu = time.perf_counter(), cpu()
    con.execute(f"select count(*), count(try(from_json(raw, '{json.dumps(shape)}'))) "
                f"from read_parquet('{glob}')").fetchall()
    parse_wall, parse_cpu = time.perf_counter() - began, cpu() - began_cpu
    print("| step | wall s | CPU-s | µs CPU per record |")
    print("|---|---|---|---|")
    for name, wall, spent, count in (("land untyped (floor)", untyped_wall, untyped_cpu, n),
                                     ("land typed", typed_wall, typed_cpu, n),
                                     ("land typed, events handed over", handed_wall, handed_cpu, n),
                                     ("validator alone (per valid record)", validate_wall, validate_cpu, len(parsed)),
                                     ("DuckDB parse, 1 thread", parse_wall, parse_cpu, n)):
        print(f"| {name} | {wall:.2f} | {spent:.2f} | {spent / count * 1e6:.1f} |")
    print(f"typing adds {(typed_cpu - untyped_cpu) / n * 1e6:.1f} µs CPU per record "
          f"({typed_cpu / untyped_cpu:.1f}x the untyped landing; "
          f"{(typed_cpu - untyped_cpu) / parse_cpu:.1f}x DuckDB's parse of the same records); "
          f"{(handed_cpu - untyped_cpu) / n * 1e6:.1f} µs when the edge hands its validated events over")


if __name__ == "__main__":
    main()
