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
    if catalog:  # a catalog update starts new-episode campaigns, as events do in the collector
        from streamloop.app.campaigns import queue_new_episodes

        click.echo(queue_new_episodes(list(paths)))


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
@click.option("--whole-table-tests", is_flag=True,
              help="data tests read whole tables, one node each (by default those on incremental models read the rows this build changed, grouped per model)")
@click.option("--target", type=click.Choice(["duckdb", "spark"]), default=None, help="dbt target (default from settings)")
def build(full_refresh, whole_table_tests, target):
    """Run the dbt build (incremental by default) and print a summary."""
    from streamloop.app.build import run_build

    click.echo(run_build(full_refresh=full_refresh, target=target, whole_table_tests=whole_table_tests).render())


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
    from streamloop.app.privacy import load_erasers

    load_erasers()  # the API's forget route reaches every store this process can (the model registry too)
    # uvicorn stops on SIGTERM and Ctrl-C; open keep-alive connections get 5 s, not forever
    uvicorn.run(create_app(), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


@main.group()
def campaigns():
    """Lifecycle messaging campaigns (campaigns/*.yml)."""


@campaigns.command("validate")
def campaigns_validate():
    """Check every campaign file; exit 1 naming file, field and reason for each broken one."""
    from streamloop.app.campaigns import validate

    result = validate()
    for campaign in result.campaigns:
        click.echo(f"ok       {result.files[campaign.id]} ({campaign.id})")
    for error in result.errors:
        click.echo(f"invalid  {error}", err=True)
    if result.errors:
        raise SystemExit(1)


@campaigns.command("list")
@click.option("--json", "as_json", is_flag=True)
def campaigns_list(as_json):
    """Valid campaigns in priority order."""
    from streamloop.app.campaigns import listing, validate

    result = validate()
    rows = listing(result)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['priority']:>3}  {row['campaign_id']:<28} {row['channel']:<7} {row['trigger']}")
    for error in result.errors:
        click.echo(f"invalid  {error}", err=True)


@campaigns.command("preview")
@click.argument("campaign_id")
@click.option("--profile", "profile_id", required=True)
def campaigns_preview(campaign_id, profile_id):
    """Render CAMPAIGN for one profile (nothing is sent or written)."""
    from streamloop.app.campaigns import preview

    message = preview(campaign_id, profile_id)
    click.echo(f"subject: {message['subject']}\n\n{message['body']}\n\n"
               f"(titles from {message['recommendations_from']}: {', '.join(message['titles']) or 'none'})")


@campaigns.command("run")
@click.option("--dry-run", is_flag=True, help="decide and report; write nothing anywhere")
@click.option("--at", "at", default=None, help="run as of this RFC 3339 timestamp (default: the clock)")
@click.option("--json", "as_json", is_flag=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="processes sharing the audience by profile (local deliveries only)")
def campaigns_run(dry_run, at, as_json, workers):
    """Evaluate campaigns and write due messages to the outbox."""
    from streamloop.app.campaigns import parse_at, run

    if at is not None:
        parse_at(at)
    summary = run(dry_run, at, workers)
    click.echo(json.dumps(summary.to_json()) if as_json else summary.render())


@main.group()
def experiments():
    """A/B tests and bandits (experiments/*.yml) and their readouts from the warehouse."""


@experiments.command("list")
@click.option("--json", "as_json", is_flag=True)
def experiments_list(as_json):
    """Every experiment: kind, status, primary metric, profiles assigned per variant."""
    from streamloop.app.experiments import list_experiments, render_list

    rows = list_experiments()
    click.echo(json.dumps(rows, indent=2) if as_json else render_list(rows))


@experiments.command("report")
@click.argument("experiment_id")
@click.option("--json", "as_json", is_flag=True)
def experiments_report(experiment_id, as_json):
    """Lifts with intervals, SRM, CUPED and guardrails of one experiment, in words and numbers."""
    from streamloop.app.experiments import experiment_report, render_report

    report = experiment_report(experiment_id)
    click.echo(json.dumps(report, indent=2) if as_json else render_report(report))


@main.group()
def privacy():
    """Privacy operations: forget a person everywhere (docs/privacy.md)."""


@privacy.command("forget")
@click.option("--profile", "profile_id", default=None, help="forget one profile")
@click.option("--account", "account_id", default=None, help="forget an account and every profile in it")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def privacy_forget(profile_id, account_id, as_json):
    """Remove a person from the lake, warehouse, online store and every registered store; audit it."""
    from streamloop.app.privacy import render, run_forget

    report = run_forget(profile_id, account_id)
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else render(report))


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
@click.option("--profiles", type=int, default=200, show_default=True, help="simulated viewer profiles")
@click.option("--days", type=int, default=42, show_default=True, help="simulated days")
@click.option("--seed", type=int, default=1, show_default=True, help="random seed")
@click.option("--start", "start_date", default=None, help="first day (YYYY-MM-DD); default: ends 2025-12-31")
@click.option("--build-every", type=int, default=7, show_default=True, help="days between builds (0 = never)")
@click.option("--train-every", type=int, default=14, show_default=True, help="days between retrains (0 = never)")
@click.option("--campaigns-every", type=int, default=7, show_default=True,
              help="days between campaign runs (0 = never; the simulator then sends its own messages)")
@click.option("--fit-from", type=click.Path(exists=True, dir_okay=False), default=None,
              help="fit engagement level and churn by plan to this built warehouse (DuckDB file) first")
@click.option("--json", "as_json", is_flag=True, help="print the daily metrics as JSON")
def loop(profiles, days, seed, start_date, build_every, train_every, campaigns_every, fit_from, as_json):
    """Closed loop in STREAMLOOP_HOME: simulated households live against the product, day by day."""
    from streamloop.app.twin.loop import Schedule, TwinLoop
    from streamloop.core.progress import say
    from streamloop.core.simulate import SimulationConfig

    config = SimulationConfig(profiles=profiles, days=days, seed=seed, start_date=start_date, workers=1)
    knobs = None
    if fit_from:
        from streamloop.app.twin.fit import fit_knobs

        fit = fit_knobs(fit_from, config)
        knobs = fit.knobs
        for parameter, _, source in fit.describe():
            say(f"{parameter}: {source}")
    result = TwinLoop(config, Schedule(build_every, train_every, campaigns_every), knobs, progress=say).run()
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else result.render())


@main.command()
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False))
@click.option("--seeds", type=int, default=None, help="run seeds 1..N (default: the scenario's seeds)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="where arms' homes and the report go; default STREAMLOOP_HOME/whatif/<scenario>")
@click.option("--fit-from", type=click.Path(exists=True, dir_okay=False), default=None,
              help="fit engagement level and churn by plan to this built warehouse (DuckDB file) first")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def whatif(scenario, seeds, out_dir, fit_from, as_json):
    """Run a scenario's baseline and arms through the closed loop; report each arm's difference with intervals."""
    from pathlib import Path

    from streamloop.app.twin.scenario import load_scenario
    from streamloop.app.twin.whatif import run_whatif
    from streamloop.core.progress import say
    from streamloop.core.settings import get_settings

    spec = load_scenario(scenario)
    out = Path(out_dir) if out_dir else get_settings().home_dir / "whatif" / spec.name
    report = run_whatif(spec, out.resolve(), seeds, progress=say, fit_from=Path(fit_from) if fit_from else None)
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.render())


@main.command()
@click.option("--port", type=int, default=3000, show_default=True)
def ui(port):
    """Open the Dagster UI with the whole lineage."""
    from streamloop.app.dagster_ui import run_ui

    run_ui(port=port)


if __name__ == "__main__":
    main()
