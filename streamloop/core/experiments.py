"""Experiments and bandits from `experiments/*.yml` (CONTRACT §7): loading and assignment.

Shared by serving (functions/home.py) and the simulator (streamloop/core/simulate), so a simulated
exposure names the same experiment, variant and profile assignment the product would serve.

An A/B experiment assigns each profile a variant by hashing (salt, profile_id) with sha256 to a uniform
number: deterministic and sticky without storing assignments. A bandit chooses an arm per page by
Thompson sampling over Beta posteriors of click-through; the collector keeps the counts in the online
store (`bandit` namespace, {"arms": {arm: {"impressions": n, "clicks": n}}}).

Whether an experiment runs is a question about "now": pass the instant, or leave it out to read
`streamloop.core.clock` (which tests and simulations freeze).
"""
from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from streamloop.core import clock
from streamloop.core.constants import HOME_ROW_KINDS
from streamloop.core.errors import StreamloopError

_NAME_RE = re.compile(r"^[a-z0-9_-]+$")  # ids and names travel inside request ids, separated by dots


def uniform_hash(salt: str, profile_id: str) -> float:
    """A uniform number in [0, 1) fixed by (salt, profile_id)."""
    digest = hashlib.sha256(f"{salt}:{profile_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


@dataclass(frozen=True)
class Variant:
    name: str
    weight: float


@dataclass(frozen=True)
class Experiment:
    """A/B(/n) test with sticky hashed assignment."""
    id: str
    surface: str
    salt: str
    start: datetime
    end: datetime
    primary_metric: str
    variants: tuple[Variant, ...]

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or clock.now()
        return self.start <= now < self.end

    def assign(self, profile_id: str) -> str:
        return assign(profile_id, self)


def assign(profile_id: str, experiment: Experiment) -> str:
    """The variant `profile_id` sees in `experiment`: sticky, proportional to the variants' weights."""
    point = uniform_hash(experiment.salt, profile_id) * sum(v.weight for v in experiment.variants)
    for variant in experiment.variants:
        point -= variant.weight
        if point < 0:
            return variant.name
    return experiment.variants[-1].name


@dataclass(frozen=True)
class Arm:
    name: str
    order: tuple[str, ...]


@dataclass(frozen=True)
class Bandit:
    """Thompson sampling over arms with a minimum exploration share and a posterior temperature."""
    id: str
    surface: str
    salt: str
    start: datetime
    end: datetime
    primary_metric: str
    arms: tuple[Arm, ...]
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    min_exploration: float = 0.1
    temperature: float = 1.0
    propensity_samples: int = 2000

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or clock.now()
        return self.start <= now < self.end

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.arms if a.name == name), None)

    def _betas(self, counts: dict) -> list[tuple[float, float]]:
        """Beta parameters per arm from {"arms": {name: {"impressions", "clicks"}}}."""
        arms = (counts or {}).get("arms", {})
        out = []
        for arm in self.arms:
            c = arms.get(arm.name, {})
            clicks = max(float(c.get("clicks", 0)), 0.0)
            misses = max(float(c.get("impressions", 0)) - clicks, 0.0)
            out.append((self.prior_alpha + clicks / self.temperature, self.prior_beta + misses / self.temperature))
        return out

    def thompson_probabilities(self, counts: dict, seed: int = 0) -> list[float]:
        """Monte-Carlo estimate of P(arm draws the highest sample) under the posteriors."""
        rng = random.Random(seed)
        betas = self._betas(counts)
        wins = [0] * len(betas)
        for _ in range(self.propensity_samples):
            draws = [rng.betavariate(a, b) for a, b in betas]
            wins[draws.index(max(draws))] += 1
        return [w / self.propensity_samples for w in wins]

    def choose(self, counts: dict, rng: random.Random, probabilities: list[float]) -> tuple[Arm, float]:
        """One Thompson draw (or uniform exploration); returns the arm and its selection probability.

        `probabilities` is `thompson_probabilities(counts)`, passed in so callers can cache it per counts.
        """
        k = len(self.arms)
        if rng.random() < self.min_exploration:
            index = rng.randrange(k)
        else:
            draws = [rng.betavariate(a, b) for a, b in self._betas(counts)]
            index = draws.index(max(draws))
        propensity = self.min_exploration / k + (1 - self.min_exploration) * probabilities[index]
        return self.arms[index], propensity


@dataclass(frozen=True)
class Experiments:
    tests: tuple[Experiment, ...] = ()
    bandits: tuple[Bandit, ...] = ()

    def test_for(self, surface: str, now: datetime | None = None) -> Experiment | None:
        now = now or clock.now()
        return next((e for e in self.tests if e.surface == surface and e.is_active(now)), None)

    def bandit_for(self, surface: str, now: datetime | None = None) -> Bandit | None:
        now = now or clock.now()
        return next((b for b in self.bandits if b.surface == surface and b.is_active(now)), None)

    def test(self, experiment_id: str) -> Experiment | None:
        return next((e for e in self.tests if e.id == experiment_id), None)

    def bandit(self, bandit_id: str) -> Bandit | None:
        return next((b for b in self.bandits if b.id == bandit_id), None)


class _Spec:
    """One experiment file's mapping, read field by field; every error names the file and the field."""

    def __init__(self, path: Path, spec: dict):
        self.path, self.spec = path, spec

    def fail(self, field: str, reason: str) -> StreamloopError:
        return StreamloopError(f"{self.path}: {field}: {reason}")

    def need(self, field: str, mapping: dict | None = None, where: str = ""):
        mapping = self.spec if mapping is None else mapping
        if not isinstance(mapping, dict) or field not in mapping or mapping[field] is None:
            raise self.fail(where + field, "required")
        return mapping[field]

    def name(self, field: str, value) -> str:
        if not isinstance(value, str) or not _NAME_RE.match(value):
            raise self.fail(field, f"must match {_NAME_RE.pattern} (got {value!r})")
        return value

    def number(self, field: str, value, *, low: float | None = None, high: float | None = None,
               above: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"must be a number (got {value!r})")
        if (low is not None and value < low) or (high is not None and value > high) \
                or (above is not None and value <= above):
            bounds = " and ".join(part for part in (
                f">= {low}" if low is not None else "", f"<= {high}" if high is not None else "",
                f"> {above}" if above is not None else "") if part)
            raise self.fail(field, f"must be {bounds} (got {value!r})")
        return float(value)

    def instant(self, field: str) -> datetime:
        value = self.need(field)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            return clock.parse_instant(str(value))
        except ValueError:
            raise self.fail(field, f"not an ISO 8601 timestamp (got {value!r})") from None


def _parse(path: Path, raw: dict) -> Experiment | Bandit:
    spec = _Spec(path, raw)
    common = {
        "id": spec.name("id", spec.need("id")),
        "surface": str(spec.need("surface")),
        "salt": str(spec.need("salt")),
        "start": spec.instant("start"),
        "end": spec.instant("end"),
        "primary_metric": str(spec.need("primary_metric")),
    }
    if common["start"] >= common["end"]:
        raise spec.fail("end", f"must be after start ({common['start'].isoformat()})")
    if "bandit" in raw:
        return _parse_bandit(spec, common)
    variants_spec = spec.need("variants")
    if not isinstance(variants_spec, list) or len(variants_spec) < 2:
        raise spec.fail("variants", "needs a list of at least two variants")
    variants = []
    for i, variant in enumerate(variants_spec):
        where = f"variants[{i}]."
        name = spec.name(where + "name", spec.need("name", variant, where))
        weight = spec.number(where + "weight", variant.get("weight", 1), low=0)
        variants.append(Variant(name, weight))
    if len({v.name for v in variants}) != len(variants):
        raise spec.fail("variants", "variant names must be unique")
    if sum(v.weight for v in variants) <= 0:
        raise spec.fail("variants", "weights must not all be zero")
    return Experiment(**common, variants=tuple(variants))


def _parse_bandit(spec: _Spec, common: dict) -> Bandit:
    config = spec.spec["bandit"] or {}
    if not isinstance(config, dict):
        raise spec.fail("bandit", "must be a mapping")
    if config.get("algorithm", "thompson_sampling") != "thompson_sampling":
        raise spec.fail("bandit.algorithm", f"only thompson_sampling is supported (got {config['algorithm']!r})")
    arms_spec = spec.need("arms")
    if not isinstance(arms_spec, list) or len(arms_spec) < 2:
        raise spec.fail("arms", "a bandit needs a list of at least two arms")
    arms = []
    for i, arm in enumerate(arms_spec):
        where = f"arms[{i}]."
        name = spec.name(where + "name", spec.need("name", arm, where))
        order = spec.need("order", arm, where)
        if not isinstance(order, list) or not order:
            raise spec.fail(where + "order", "needs a list of row kinds")
        unknown = [k for k in order if k not in HOME_ROW_KINDS]
        if unknown:
            raise spec.fail(where + "order", f"unknown row kinds {unknown} (known: {', '.join(HOME_ROW_KINDS)})")
        arms.append(Arm(name, tuple(order)))
    prior = config.get("prior") or {}
    return Bandit(
        **common, arms=tuple(arms),
        prior_alpha=spec.number("bandit.prior.alpha", prior.get("alpha", 1), above=0),
        prior_beta=spec.number("bandit.prior.beta", prior.get("beta", 1), above=0),
        min_exploration=spec.number("bandit.min_exploration", config.get("min_exploration", 0.1), low=0, high=1),
        temperature=spec.number("bandit.temperature", config.get("temperature", 1.0), above=0),
        propensity_samples=int(spec.number("bandit.propensity_samples", config.get("propensity_samples", 2000),
                                           low=1)),
    )


def load_experiments(folder: Path | str) -> Experiments:
    """Every `*.yml` in `folder` (none if it does not exist); a malformed file fails with file, field and reason."""
    folder = Path(folder)
    tests, bandits, seen = [], [], {}
    for path in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise StreamloopError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(raw, dict):
            raise StreamloopError(f"{path}: must be a mapping of fields")
        parsed = _parse(path, raw)
        if parsed.id in seen:
            raise StreamloopError(f"{path}: id: {parsed.id!r} is already defined in {seen[parsed.id]}")
        seen[parsed.id] = path.name
        (bandits if isinstance(parsed, Bandit) else tests).append(parsed)
    return Experiments(tuple(tests), tuple(bandits))


def encode_decision(request_id: str, bandit: Bandit, arm: Arm) -> str:
    """The request id the page is served under: it carries the bandit's decision, so impression and
    click events credit the right arm at the collector without any server-side decision log."""
    return f"{request_id}.{bandit.id}.{arm.name}"


def decode_decision(request_id: str) -> tuple[str, str] | None:
    """(bandit_id, arm) from a request id made by `encode_decision`, else None."""
    parts = request_id.split(".")
    return (parts[1], parts[2]) if len(parts) == 3 else None
