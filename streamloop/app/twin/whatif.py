"""`streamloop whatif SCENARIO`: every arm and the baseline through the closed loop, over the same population
and seeds, each (arm, seed) in its own STREAMLOOP_HOME; per arm vs baseline, the paired difference over seeds
(ml/stats.py `paired_difference`) of each outcome, and an HTML report of the daily curves."""
from __future__ import annotations

import functools
import html
import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from ml.stats import Difference, paired_difference
from streamloop.app.twin.fit import Fit, fit_knobs
from streamloop.app.twin.loop import LoopResult, Schedule, TwinLoop
from streamloop.app.twin.scenario import Changes, Scenario
from streamloop.core.settings import REPO_ROOT
from streamloop.core.simulate import behaviour
from streamloop.core.simulate.behaviour import Knobs
from streamloop.core.simulate.config import SimulationConfig

OUTCOMES = ("retention", "watch_minutes", "plays", "messages_sent", "unsubscribes", "revenue")
CURVES = ("active_subscribers", "watch_minutes", "plays", "revenue_cents")

# which behaviour parameters a what-if rests on, and where each value comes from (the report lists them)
ASSUMPTIONS = (
    ("PRICE_ELASTICITY", "churn hazard × (price / list price) ** this", "default (not fitted)"),
    ("WINBACK_CLICK_LIFT", "latent engagement lift of a clicked message", "default (not fitted)"),
    ("_WORTH_IT_MINUTES", "minutes/day below which a plan feels not worth it", "default (not fitted)"),
    ("_PRICE_WEIGHT", "churn hazard weight by plan", "default (not fitted)"),
    ("activity / engagement drift", "population.py: daily watch probability and fading households",
     "default (not fitted)"),
)


def assumptions(scenario: Scenario, fit: Fit | None = None) -> list[tuple[str, str, str]]:
    """ASSUMPTIONS, with the parameters this scenario sets marked as such, and the fitted ones (if any)."""
    setting = [name for name in ("baseline", *scenario.arms)
               if scenario.arm(name).behaviour.price_elasticity is not None]
    out = []
    for parameter, meaning, source in ASSUMPTIONS:
        if parameter == "PRICE_ELASTICITY" and setting:
            source = f"set by the scenario in {', '.join(setting)}; default {behaviour.PRICE_ELASTICITY} elsewhere"
        if fit is not None and parameter == "activity / engagement drift":
            source = "default (engagement level fitted: activity_shift below)"
        out.append((parameter, meaning, source))
    return out + (fit.describe() if fit is not None else [])


@dataclass
class ArmResult:
    name: str
    runs: dict[int, LoopResult] = field(default_factory=dict)  # seed -> result


@dataclass
class WhatIfReport:
    scenario: Scenario
    arms: dict[str, ArmResult]
    differences: dict[str, dict[str, Difference]]  # arm -> outcome -> arm − baseline
    report_path: Path | None = None
    fit: Fit | None = None

    def to_json(self) -> dict:
        def diff(d: Difference) -> dict:
            return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.__dict__.items()}
        return {
            "scenario": self.scenario.name,
            "seeds": sorted(self.arms["baseline"].runs),
            "baseline": {o: _mean([r.totals()[o] for r in self.arms["baseline"].runs.values()]) for o in OUTCOMES},
            "arms": {arm: {o: diff(d) for o, d in by.items()} for arm, by in self.differences.items()},
            "arm_means": {arm: {o: _mean([r.totals()[o] for r in result.runs.values()]) for o in OUTCOMES}
                          for arm, result in self.arms.items()},
            "assumptions": [{"parameter": p, "meaning": m, "source": s} for p, m, s in assumptions(self.scenario, self.fit)],
            "report": str(self.report_path) if self.report_path else None,
        }

    def render(self) -> str:
        seeds = sorted(self.arms["baseline"].runs)
        pop = self.scenario.population
        lines = [f"what-if {self.scenario.name}: {len(seeds)} seeds {seeds}, {pop.profiles} profiles × {pop.days} days"
                 + (f" after a {pop.warmup_days}-day warm-up" if pop.warmup_days else "")]
        base = {o: _mean([r.totals()[o] for r in self.arms["baseline"].runs.values()]) for o in OUTCOMES}
        lines.append("  baseline: " + ", ".join(f"{o} {_fmt(base[o])}" for o in OUTCOMES))
        for arm, by in self.differences.items():
            lines.append(f"  {arm} vs baseline (mean difference [95% interval over seeds]):")
            for o, d in by.items():
                lines.append(f"    {o:<14} {_fmt(d.estimate):>10} [{_fmt(d.low)}, {_fmt(d.high)}]"
                             + (f"  {d.relative:+.1%}" if not math.isnan(d.relative) else ""))
        lines.append("  behaviour parameters: defaults chosen by hand, none fitted to a warehouse (docs/twin.md):")
        lines += [f"    {p}: {src}" for p, _, src in assumptions(self.scenario, self.fit)]
        if self.report_path:
            lines.append(f"  report: {self.report_path}")
        return "\n".join(lines)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:.4f}" if abs(x) < 1 else f"{x:,.1f}"


def experiments_for(changes: Changes, directory: Path) -> Path:
    """The product's experiments with the arm's allocation changes, written to `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted((REPO_ROOT / "experiments").glob("*.yml")):
        raw = yaml.safe_load(path.read_text())
        if changes.serving.row_order and "bandit" in raw:
            continue  # a fixed row order replaces the row-order bandit
        weights = changes.serving.allocation.get(raw.get("id"))
        if weights:
            raw["variants"] = [{**v, "weight": weights.get(v["name"], v["weight"])} for v in raw["variants"]]
        (directory / path.name).write_text(yaml.safe_dump(raw, sort_keys=False))
    return directory


def simulation_config(scenario: Scenario, seed: int) -> SimulationConfig:
    """The simulated service of a scenario: its warm-up and its window, one population."""
    pop = scenario.population
    return SimulationConfig(profiles=pop.profiles, days=pop.warmup_days + pop.days, seed=seed,
                            start_date=pop.start, workers=1)


def _knobs(changes: Changes, fit: Fit | None) -> Knobs:
    """The simulator's behaviour under a set of changes (and a fit to a real warehouse, when given)."""
    lift = {"*": behaviour.WINBACK_CLICK_LIFT, **changes.campaigns.message_lift}
    elasticity = changes.behaviour.price_elasticity
    knobs = Knobs(prices=changes.price_tuple(), message_lift=lift,
                  price_elasticity=behaviour.PRICE_ELASTICITY if elasticity is None else elasticity)
    if fit is not None:
        knobs = replace(knobs, activity_shift=fit.knobs.activity_shift, hazard_scale=fit.knobs.hazard_scale)
    return knobs


def run_arm(scenario: Scenario, arm: str, seed: int, home: Path, progress=None, fit: Fit | None = None
            ) -> LoopResult:
    """One (arm, seed) in its own STREAMLOOP_HOME (created fresh)."""
    from streamloop.core.settings import get_settings

    changes = scenario.arm(arm)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    previous = os.environ.get("STREAMLOOP_HOME")
    os.environ["STREAMLOOP_HOME"] = str(home)
    get_settings.cache_clear()
    try:
        config = simulation_config(scenario, seed)
        s = scenario.schedule
        loop = TwinLoop(config, Schedule(s.build_every, s.train_every, s.campaigns_every), _knobs(changes, fit),
                        experiments_dir=experiments_for(changes, home / "experiments"),
                        campaign_audiences=changes.campaigns.audience,
                        churn_top_percent=changes.campaigns.churn_top_percent,
                        row_order=changes.serving.row_order, withdraw_share=changes.withdraw_share,
                        progress=progress, warmup_days=scenario.population.warmup_days,
                        warmup_knobs=_knobs(scenario.baseline, fit),
                        warmup_experiments_dir=experiments_for(scenario.baseline, home / "experiments-warm-up"))
        return loop.run()
    finally:
        if previous is None:
            os.environ.pop("STREAMLOOP_HOME", None)
        else:
            os.environ["STREAMLOOP_HOME"] = previous
        get_settings.cache_clear()


def _prefixed(progress: Callable[[str], None], prefix: str, line: str) -> None:
    progress(prefix + line)


def run_whatif(scenario: Scenario, out_dir: Path, seeds: int | None = None, progress=None,
               fit_from: Path | None = None) -> WhatIfReport:
    chosen = list(range(1, seeds + 1)) if seeds else scenario.seeds
    fit = None
    if fit_from is not None:
        fit = fit_knobs(fit_from, simulation_config(scenario, chosen[0]))
    arms = {name: ArmResult(name) for name in ("baseline", *scenario.arms)}
    for seed in chosen:
        for name, arm in arms.items():
            day_progress = None
            if progress:
                progress(f"{scenario.name}: {name}, seed {seed}")
                day_progress = functools.partial(_prefixed, progress, f"  {name} seed {seed}: ")
            arm.runs[seed] = run_arm(scenario, name, seed, out_dir / "homes" / name / f"seed-{seed}",
                                     progress=day_progress, fit=fit)
    base = arms["baseline"]
    differences = {}
    for name, arm in arms.items():
        if name == "baseline":
            continue
        differences[name] = {o: paired_difference([arm.runs[s].totals()[o] for s in chosen],
                                                  [base.runs[s].totals()[o] for s in chosen]) for o in OUTCOMES}
    report = WhatIfReport(scenario, arms, differences, fit=fit)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.report_path = out_dir / f"{scenario.name}.html"
    report.report_path.write_text(render_html(report))
    (out_dir / f"{scenario.name}.json").write_text(json.dumps(report.to_json(), indent=2))
    return report


_COLOURS = ("#444", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")


def _svg(title: str, series: dict[str, list[float]]) -> str:
    """A small line chart (inline SVG: no plotting dependency) of one daily metric, one line per arm."""
    width, height, pad = 560, 220, 36
    values = [v for ys in series.values() for v in ys]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1
    n = max(len(ys) for ys in series.values())
    parts = [f'<svg width="{width}" height="{height}" style="font:11px sans-serif">',
             f'<text x="{pad}" y="14">{html.escape(title)} (mean over seeds)</text>',
             f'<text x="2" y="{pad}">{hi:,.0f}</text><text x="2" y="{height - pad}">{lo:,.0f}</text>']
    for i, (name, ys) in enumerate(series.items()):
        points = " ".join(f"{pad + (width - 2 * pad) * d / max(1, n - 1):.1f},"
                          f"{height - pad - (height - 2 * pad) * (y - lo) / (hi - lo):.1f}" for d, y in enumerate(ys))
        colour = _COLOURS[i % len(_COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{width - 150}" y="{30 + 14 * i}" fill="{colour}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: WhatIfReport) -> str:
    curves = []
    for metric in CURVES:
        series = {}
        for name, arm in report.arms.items():
            runs = list(arm.runs.values())
            days = len(runs[0].days)
            series[name] = [_mean([getattr(r.days[d], metric) for r in runs]) for d in range(days)]
        curves.append(_svg(metric.replace("_", " "), series))
    rows = []
    for arm, by in report.differences.items():
        for o, d in by.items():
            rows.append(f"<tr><td>{html.escape(arm)}</td><td>{o}</td><td>{_fmt(d.estimate)}</td>"
                        f"<td>[{_fmt(d.low)}, {_fmt(d.high)}]</td>"
                        f"<td>{'' if math.isnan(d.relative) else f'{d.relative:+.2%}'}</td></tr>")
    assumed = "".join(f"<tr><td><code>{p}</code></td><td>{html.escape(m)}</td><td>{s}</td></tr>"
                          for p, m, s in assumptions(report.scenario, report.fit))
    s = report.scenario
    seeds = sorted(report.arms["baseline"].runs)
    fitted_note = (f"Engagement level and churn by plan were fitted to {html.escape(report.fit.source)}; every other "
                   f"behaviour parameter below is a default chosen by hand." if report.fit else
                   "Every behaviour parameter below is a default chosen by hand; none was fitted to a real warehouse.")
    warm_up = f" after a {s.population.warmup_days}-day warm-up" if s.population.warmup_days else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>what-if {html.escape(s.name)}</title>
<style>body{{font:14px sans-serif;margin:2em}}td,th{{padding:2px 8px;text-align:left}}</style></head><body>
<h1>What if: {html.escape(s.name)}</h1><p>{html.escape(s.description)}</p>
<p>{s.population.profiles} profiles × {s.population.days} days{warm_up}, seeds {seeds}; schedule: build every
{s.schedule.build_every or 'never'}, train every {s.schedule.train_every or 'never'}, campaigns every
{s.schedule.campaigns_every or 'never'} (days).</p>
<h2>Arm − baseline (paired over seeds, 95% t interval)</h2>
<table><tr><th>arm</th><th>outcome</th><th>difference</th><th>interval</th><th>relative</th></tr>{''.join(rows)}</table>
<h2>Over simulated time</h2>{''.join(curves)}
<h2>What the simulator assumes</h2>
<p>{fitted_note} The differences above are what the product would do <em>if</em> households behaved this
way.</p>
<table><tr><th>parameter</th><th>meaning</th><th>source</th></tr>{assumed}</table>
</body></html>
"""
