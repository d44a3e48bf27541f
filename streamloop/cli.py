"""The `streamloop` command line (CONTRACT.md §5). Each command is a thin shell over a library call.

Imports are local to each command so `streamloop --help` and light commands start fast.
"""
from __future__ import annotations

import json
import sys

import click

from streamloop.core.errors import StreamloopError


class _Group(click.Group):
    """Turns StreamloopError (and other expected failures) into one line on stderr and exit 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except StreamloopError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="streamloop")
def main():
    """streamloop: events → warehouse → models → real-time personalization for streaming services."""


@main.command()
@click.option("--profiles", type=int, default=2000, show_default=True, help="number of viewer profiles")
@click.option("--days", type=int, default=60, show_default=True, help="days of activity")
@click.option("--seed", type=int, default=7, show_default=True, help="random seed (same seed, same data)")
@click.option("--start", "start_date", default=None,
              help="first day (YYYY-MM-DD), or 'today' for data ending yesterday; default: the service ends "
                   "on 2026-01-01 (fixed, so the same seed gives the same numbers on any day)")
@click.option("--late-rate", type=float, default=None, help="share of events delivered days late")
@click.option("--duplicate-rate", type=float, default=None, help="share of events delivered twice")
@click.option("--malformed-rate", type=float, default=None, help="share of malformed records")
def simulate(profiles, days, seed, start_date, late_rate, duplicate_rate, malformed_rate):
    """Simulate a streaming service and land its events and catalog in the lake."""
    from streamloop.core.simulate import SimulationConfig, run_simulation

    given = {"late_rate": late_rate, "duplicate_rate": duplicate_rate, "malformed_rate": malformed_rate,
             "start_date": start_date}
    overrides = {k: v for k, v in given.items() if v is not None}
    summary = run_simulation(SimulationConfig(profiles=profiles, days=days, seed=seed, **overrides))
    click.echo(summary.render())


@main.command()
@click.option("--catalog", is_flag=True, help="the files are catalog records, not events")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def ingest(catalog, paths):
    """Validate JSON/JSONL(.gz) files and land them in the lake, keeping rejects with reasons."""
    from streamloop.core.ingest import ingest_paths

    summary = ingest_paths(list(paths), catalog=catalog)
    click.echo(summary.render())


@main.command("import")
@click.argument("kind", type=click.Choice(["movielens", "sparkify"]))
@click.argument("path", type=click.Path(exists=True))
def import_(kind, path):
    """Import a public data set through the event contract (MovieLens or Sparkify)."""
    if kind == "movielens":
        from streamloop.core.importers.movielens import import_movielens as run
    else:
        from streamloop.core.importers.sparkify import import_sparkify as run
    click.echo(run(path).render())


@main.command()
@click.option("--full-refresh", is_flag=True, help="rebuild every incremental model from the whole lake")
@click.option("--target", type=click.Choice(["duckdb", "spark"]), default=None, help="dbt target (default from settings)")
def build(full_refresh, target):
    """Run the dbt build (incremental by default) and print a summary."""
    from streamloop.app.build import run_build

    click.echo(run_build(full_refresh=full_refresh, target=target).render())


@main.command()
@click.option("--only", default=None, help="comma-separated subset of churn,ltv,recommender")
def train(only):
    """Train, evaluate, register and (if the gates pass) promote models."""
    from streamloop.app.train import run_training

    models = [m.strip() for m in only.split(",")] if only else None
    click.echo(run_training(models).render())


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
def models(ctx, as_json):
    """List registered models: every candidate version (learned or baseline), gates, and which one serves."""
    if ctx.invoked_subcommand is not None:
        return
    from ml.registry import default_registry

    listing = default_registry().describe()
    if as_json:
        click.echo(json.dumps(listing, indent=2, default=str))
    else:
        from ml.registry import render_listing

        click.echo(render_listing(listing))


@models.command("rollback")
@click.argument("name")
def models_rollback(name):
    """Restore NAME's previous production version and republish what is served from it."""
    from streamloop.app.models import run_rollback

    click.echo(run_rollback(name))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
def serve(host, port):
    """Serve the HTTP API (uvicorn) on the embedded defaults."""
    import uvicorn

    from functions.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


@main.group()
def campaigns():
    """Lifecycle messaging campaigns (campaigns/*.yml)."""


@campaigns.command("run")
@click.option("--dry-run", is_flag=True)
@click.option("--at", "at", default=None, help="run as of this RFC 3339 timestamp")
@click.option("--json", "as_json", is_flag=True)
def campaigns_run(dry_run, at, as_json):
    """Evaluate campaigns and write due messages to the outbox."""
    raise StreamloopError("campaigns are not implemented yet (lifecycle messaging issue)")


@main.command()
@click.option("--profiles", type=int, default=400, show_default=True)
@click.option("--days", type=int, default=240, show_default=True,
              help="LTV trains only when matured 90-day labels hold a 90-day purge gap between train and test: "
                   "≥ ~220 days (churn, 30-day horizon: ≥ ~110)")
@click.option("--seed", type=int, default=7, show_default=True)
def demo(profiles, days, seed):
    """Simulate, build, train and show a personalized home page: the whole loop on embedded defaults."""
    from streamloop.app.demo import run_demo

    run_demo(profiles=profiles, days=days, seed=seed)


@main.command()
@click.option("--port", type=int, default=3000, show_default=True)
def ui(port):
    """Open the Dagster UI with the whole lineage."""
    from streamloop.app.dagster_ui import run_ui

    run_ui(port=port)


if __name__ == "__main__":
    main()
