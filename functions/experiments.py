"""Experiments and bandits from `experiments/*.yml` (CONTRACT §7).

An A/B experiment assigns each profile a variant by hashing (salt, profile_id) to a uniform number:
deterministic and sticky without storing assignments. A bandit chooses an arm per page by Thompson
sampling over Beta posteriors of click-through; the collector keeps the counts in the online store
(`bandit` namespace, {"arms": {arm: {"impressions": n, "clicks": n}}}).
"""
from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from streamloop.core.errors import StreamloopError

ROW_KINDS = ("continue_watching", "top_picks", "because_you_watched", "trending", "genre", "new_releases", "popular")
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

    def is_active(self, now: datetime) -> bool:
        return self.start <= now < self.end

    def assign(self, profile_id: str) -> str:
        point = uniform_hash(self.salt, profile_id) * sum(v.weight for v in self.variants)
        for variant in self.variants:
            point -= variant.weight
            if point < 0:
                return variant.name
        return self.variants[-1].name


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

    def is_active(self, now: datetime) -> bool:
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

    def test_for(self, surface: str, now: datetime) -> Experiment | None:
        return next((e for e in self.tests if e.surface == surface and e.is_active(now)), None)

    def bandit_for(self, surface: str, now: datetime) -> Bandit | None:
        return next((b for b in self.bandits if b.surface == surface and b.is_active(now)), None)

    def bandit(self, bandit_id: str) -> Bandit | None:
        return next((b for b in self.bandits if b.id == bandit_id), None)


def _time(value, field: str, path: Path) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise StreamloopError(f"{path.name}: {field} is not an ISO timestamp ({value!r})") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse(path: Path, spec: dict) -> Experiment | Bandit:
    def need(key):
        if key not in spec:
            raise StreamloopError(f"{path.name}: missing `{key}`")
        return spec[key]

    exp_id = str(need("id"))
    if not _NAME_RE.match(exp_id):
        raise StreamloopError(f"{path.name}: id {exp_id!r} must match {_NAME_RE.pattern}")
    common = {"id": exp_id, "surface": str(need("surface")), "salt": str(need("salt")),
                  "start": _time(need("start"), "start", path), "end": _time(need("end"), "end", path),
                  "primary_metric": str(need("primary_metric"))}
    if common["start"] >= common["end"]:
        raise StreamloopError(f"{path.name}: start must be before end")
    if "bandit" in spec:
        config = spec["bandit"] or {}
        if config.get("algorithm", "thompson_sampling") != "thompson_sampling":
            raise StreamloopError(f"{path.name}: only bandit.algorithm thompson_sampling is supported")
        arms = []
        for arm in need("arms"):
            name, order = str(arm.get("name", "")), tuple(arm.get("order") or ())
            unknown = [k for k in order if k not in ROW_KINDS]
            if not _NAME_RE.match(name) or not order or unknown:
                raise StreamloopError(f"{path.name}: arm {name!r} needs a name matching {_NAME_RE.pattern} "
                                      f"and an order of row kinds from {', '.join(ROW_KINDS)} (unknown: {unknown})")
            arms.append(Arm(name, order))
        if len(arms) < 2:
            raise StreamloopError(f"{path.name}: a bandit needs at least two arms")
        prior = config.get("prior") or {}
        bandit = Bandit(**common, arms=tuple(arms), prior_alpha=float(prior.get("alpha", 1)),
                        prior_beta=float(prior.get("beta", 1)),
                        min_exploration=float(config.get("min_exploration", 0.1)),
                        temperature=float(config.get("temperature", 1.0)),
                        propensity_samples=int(config.get("propensity_samples", 2000)))
        if not 0 <= bandit.min_exploration <= 1 or bandit.temperature <= 0 or bandit.propensity_samples < 1:
            raise StreamloopError(f"{path.name}: need 0 <= min_exploration <= 1, temperature > 0, propensity_samples >= 1")
        return bandit
    variants = tuple(Variant(str(v["name"]), float(v.get("weight", 1))) for v in need("variants"))
    if len(variants) < 2 or any(v.weight < 0 or not _NAME_RE.match(v.name) for v in variants) \
            or sum(v.weight for v in variants) <= 0:
        raise StreamloopError(f"{path.name}: needs at least two named variants with non-negative weights")
    return Experiment(**common, variants=variants)


def load_experiments(folder: Path) -> Experiments:
    """Every experiments/*.yml; a malformed file fails loudly with its name."""
    import yaml

    tests, bandits = [], []
    for path in sorted(Path(folder).glob("*.yml")) if Path(folder).is_dir() else []:
        try:
            spec = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise StreamloopError(f"{path.name}: not valid YAML ({exc})") from None
        if not isinstance(spec, dict):
            raise StreamloopError(f"{path.name}: must be a mapping")
        parsed = _parse(path, spec)
        (bandits if isinstance(parsed, Bandit) else tests).append(parsed)
    ids = [e.id for e in tests] + [b.id for b in bandits]
    if len(ids) != len(set(ids)):
        raise StreamloopError("experiments: duplicate ids")
    return Experiments(tuple(tests), tuple(bandits))


def encode_decision(request_id: str, bandit: Bandit, arm: Arm) -> str:
    """The request id the page is served under: it carries the bandit's decision, so impression and
    click events credit the right arm at the collector without any server-side decision log."""
    return f"{request_id}.{bandit.id}.{arm.name}"


def decode_decision(request_id: str) -> tuple[str, str] | None:
    """(bandit_id, arm) from a request id made by `encode_decision`, else None."""
    parts = request_id.split(".")
    return (parts[1], parts[2]) if len(parts) == 3 else None
