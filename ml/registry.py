"""Model registry on a local folder or S3: versions, aliases, gated promotion, rollback.

Layout under the root (same on disk and in S3):

    <name>/v<N>/<artifact files>   e.g. model.ubj, model.json, candidates.parquet
    <name>/v<N>/metadata.json      name, version, created_at, data window, features + hash, metrics,
                                   baseline metrics, code version, sha256 of every artifact
    <name>/v<N>/gate.json          the quality gate's verdict, once evaluated
    <name>/v<N>/report/            report.md and PNG plots (not part of the checksummed artifacts)
    <name>/aliases.json            {"aliases": {"production": N}, "history": [promoted versions, oldest first]}

metadata.json is written last, so a version without it is incomplete and never listed. Loading
recomputes every artifact's sha256 and refuses a mismatch (CorruptArtifact).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ml.errors import CorruptArtifact, RegistryError

PRODUCTION = "production"


class Storage(Protocol):
    uri: str

    def read(self, key: str) -> bytes: ...
    def write(self, key: str, data: bytes) -> None: ...
    def exists(self, key: str) -> bool: ...
    def children(self, prefix: str) -> list[str]: ...


class LocalStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def read(self, key: str) -> bytes:
        path = self.root / key
        if not path.exists():
            raise RegistryError(f"registry object {key} not found under {self.root}")
        return path.read_bytes()

    def write(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic on one filesystem: readers never see half a file

    def exists(self, key: str) -> bool:
        return (self.root / key).exists()

    def children(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


class S3Storage:
    def __init__(self, uri: str, client=None):
        import boto3

        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        self.bucket, self.prefix, self.uri = bucket, prefix.strip("/"), uri.rstrip("/")
        self.client = client or boto3.client("s3")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise RegistryError(f"registry object {key} not found in {self.uri}") from exc

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def exists(self, key: str) -> bool:
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self._key(key), MaxKeys=1)
        return any(obj["Key"] == self._key(key) for obj in listing.get("Contents", []))

    def children(self, prefix: str) -> list[str]:
        full = self._key(prefix).rstrip("/") + "/" if prefix else (f"{self.prefix}/" if self.prefix else "")
        names: set[str] = set()
        for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full, Delimiter="/"):
            names |= {p["Prefix"][len(full):].rstrip("/") for p in page.get("CommonPrefixes", [])}
            names |= {o["Key"][len(full):] for o in page.get("Contents", [])}
        return sorted(names)


@dataclass
class ModelRef:
    """A registered model version: what training hands to scoring, gates and the catalogue."""

    name: str
    version: int
    uri: str
    created_at: str
    metrics: dict[str, float]
    baseline_metrics: dict[str, dict[str, float]]
    features: list[str]
    feature_hash: str
    data_window: dict
    code_version: str
    artifacts: dict[str, str] = field(default_factory=dict)  # file → sha256
    undefined_metrics: dict[str, str] = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    model_kind: str = "learned"  # learned | baseline
    model_name: str = "xgboost"  # e.g. xgboost, logistic_recency_frequency, ranker, ease, popularity
    selection: dict = field(default_factory=dict)  # the run's choice among its candidates (ml.gates.Selection)

    @property
    def model_version(self) -> str:
        """The string served to clients (`model_version` in API responses), e.g. `recommender:v3`."""
        return f"{self.name}:v{self.version}"


def code_version() -> str:
    """The git commit of the checkout if there is one, else the installed package version."""
    from streamloop.core.settings import REPO_ROOT

    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        if sha:
            return f"git:{sha}"
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"streamloop {version('streamloop')}"
    except PackageNotFoundError:
        return "unknown"


class ModelRegistry:
    def __init__(self, storage: Storage):
        self.storage = storage

    # ---- versions -------------------------------------------------------------------------
    def register(self, result, data_source: str | None = None, selection: dict | None = None) -> ModelRef:
        """Store a TrainingResult's artifacts and metadata (with its run's selection) as the next version."""
        if not result.artifacts:
            raise RegistryError(f"{result.name}: nothing to register (no artifacts)")
        version = max(self.versions(result.name), default=0) + 1
        while self.storage.exists(f"{result.name}/v{version}/metadata.json"):
            version += 1
        prefix = f"{result.name}/v{version}"
        digests = {}
        for filename, data in result.artifacts.items():
            self.storage.write(f"{prefix}/{filename}", data)
            digests[filename] = hashlib.sha256(data).hexdigest()
        ref = ModelRef(
            name=result.name, version=version, uri=f"{self.storage.uri}/{prefix}",
            created_at=datetime.now(UTC).isoformat(timespec="seconds"), metrics=result.metrics,
            baseline_metrics=result.baseline_metrics, features=result.features, feature_hash=result.feature_hash,
            data_window=result.data_window | ({"source": data_source} if data_source else {}),
            code_version=code_version(), artifacts=digests, undefined_metrics=result.undefined_metrics,
            params=result.params, model_kind=result.kind, model_name=result.model_name, selection=selection or {},
        )
        self.storage.write(f"{prefix}/metadata.json", json.dumps(asdict(ref), indent=2, default=str).encode())
        return ref

    def names(self) -> list[str]:
        return [n for n in self.storage.children("") if self.storage.exists(f"{n}/aliases.json") or self.versions(n)]

    def versions(self, name: str) -> list[int]:
        found = []
        for child in self.storage.children(name):
            if child.startswith("v") and child[1:].isdigit() and self.storage.exists(f"{name}/{child}/metadata.json"):
                found.append(int(child[1:]))
        return sorted(found)

    def get(self, name: str, version: int | str = PRODUCTION) -> ModelRef:
        """A version by number or alias."""
        number = self._resolve(name, version)
        meta = json.loads(self.storage.read(f"{name}/v{number}/metadata.json"))
        return ModelRef(**meta)

    def load_artifacts(self, name: str, version: int | str = PRODUCTION) -> tuple[ModelRef, dict[str, bytes]]:
        """Every artifact of a version, each checked against its recorded sha256."""
        ref = self.get(name, version)
        artifacts = {}
        for filename, expected in ref.artifacts.items():
            data = self.storage.read(f"{name}/v{ref.version}/{filename}")
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected:
                raise CorruptArtifact(f"{name} v{ref.version}/{filename} is corrupt: sha256 {actual[:12]}… "
                                      f"≠ recorded {expected[:12]}…")
            artifacts[filename] = data
        return ref, artifacts

    def _resolve(self, name: str, version: int | str) -> int:
        if isinstance(version, int) or str(version).isdigit():
            number = int(version)
            if number not in self.versions(name):
                raise RegistryError(f"{name} has no version {number}")
            return number
        aliases = self._aliases(name)["aliases"]
        if version not in aliases:
            raise RegistryError(f"{name} has no {version!r} version yet")
        return int(aliases[version])

    def attach_report(self, name: str, version: int, paths) -> None:
        """Copy report files (markdown, PNG plots) beside the artifacts, under <name>/v<N>/report/."""
        for path in map(Path, paths):
            self.storage.write(f"{name}/v{version}/report/{path.name}", path.read_bytes())

    # ---- gates, aliases, promotion ------------------------------------------------------
    def record_gate(self, name: str, version: int, gate_result) -> None:
        self.storage.write(f"{name}/v{version}/gate.json", json.dumps(gate_result.as_dict(), indent=2).encode())

    def gate_of(self, name: str, version: int) -> dict | None:
        key = f"{name}/v{version}/gate.json"
        return json.loads(self.storage.read(key)) if self.storage.exists(key) else None

    def _aliases(self, name: str) -> dict:
        key = f"{name}/aliases.json"
        if not self.storage.exists(key):
            return {"aliases": {}, "history": []}
        return json.loads(self.storage.read(key))

    def aliases(self, name: str) -> dict[str, int]:
        return dict(self._aliases(name)["aliases"])

    def production(self, name: str) -> ModelRef | None:
        return self.get(name, PRODUCTION) if PRODUCTION in self.aliases(name) else None

    def promote(self, name: str, version: int, gate_result) -> ModelRef:
        """Point `production` at `version`; refused unless the gate passed for that version."""
        if not gate_result.passed:
            raise RegistryError(f"{name} v{version} not promoted: {'; '.join(gate_result.reasons)}")
        ref = self.get(name, version)
        state = self._aliases(name)
        state["aliases"][PRODUCTION] = version
        state["history"].append(version)
        self.storage.write(f"{name}/aliases.json", json.dumps(state, indent=2).encode())
        return ref

    def rollback(self, name: str) -> ModelRef:
        """Move `production` back to the version promoted before the current one."""
        state = self._aliases(name)
        current = state["aliases"].get(PRODUCTION)
        earlier = [v for v in state["history"] if v != current]
        if current is None or not earlier:
            raise RegistryError(f"{name}: no earlier production version to roll back to")
        previous = earlier[-1]
        state["history"] = [v for v in state["history"] if v != current]
        state["aliases"][PRODUCTION] = previous
        self.storage.write(f"{name}/aliases.json", json.dumps(state, indent=2).encode())
        return self.get(name, previous)

    # ---- listing --------------------------------------------------------------------------
    def describe(self) -> list[dict]:
        """JSON-able catalogue for `streamloop models --json`."""
        listing = []
        for name in self.names():
            aliases = self.aliases(name)
            versions = []
            for number in self.versions(name):
                ref = self.get(name, number)
                versions.append({
                    "version": number, "created_at": ref.created_at, "uri": ref.uri,
                    "aliases": sorted(a for a, v in aliases.items() if v == number),
                    "metrics": ref.metrics, "baseline_metrics": ref.baseline_metrics,
                    "undefined_metrics": ref.undefined_metrics, "data_window": ref.data_window,
                    "feature_hash": ref.feature_hash, "n_features": len(ref.features),
                    "code_version": ref.code_version, "gate": self.gate_of(name, number),
                    "model_version": ref.model_version, "model_kind": ref.model_kind, "model_name": ref.model_name,
                })
            serving = next((v for v in versions if v["version"] == aliases.get(PRODUCTION)), None)
            listing.append({"name": name, "aliases": aliases, "versions": versions,
                            "production": None if serving is None else {
                                "model_version": serving["model_version"], "model_kind": serving["model_kind"],
                                "model_name": serving["model_name"],
                                "why": (serving["gate"] or {}).get("decision", "")}})
        return listing


def render_listing(listing: list[dict]) -> str:
    """Human table of `describe()`."""
    if not listing:
        return "no models registered yet (run `streamloop train`)"
    from ml.models import MODELS

    lines = [f"{'model':<12} {'version':>7}  {'candidate':<36} {'aliases':<11} {'created':<20} {'gate':<7} metrics"]
    for model in listing:
        spec = MODELS.get(model["name"])
        keys = tuple(spec.directions) + ("label_events",) if spec else ()
        for v in model["versions"]:
            metrics = "  ".join(f"{k}={v['metrics'][k]:.4g}" for k in keys if k in v["metrics"])
            gate = v["gate"]
            verdict = "-" if gate is None else ("passed" if gate["passed"] else "failed")
            candidate = f"{v.get('model_name', '?')} ({v.get('model_kind', '?')})"
            lines.append(f"{model['name']:<12} {v['version']:>7}  {candidate:<36} {','.join(v['aliases']) or '-':<11} "
                         f"{v['created_at'][:19]:<20} {verdict:<7} {metrics}")
    serving = [m for m in listing if m.get("production")]
    if serving:
        lines.append("")
        lines += [f"{m['name']} serves {m['production']['model_version']} = {m['production']['model_name']} "
                  f"({m['production']['model_kind']}): {m['production']['why'] or 'promoted'}" for m in serving]
    return "\n".join(lines)


def registry_for(uri: str, s3_client=None) -> ModelRegistry:
    if uri.startswith("s3://"):
        return ModelRegistry(S3Storage(uri, client=s3_client))
    return ModelRegistry(LocalStorage(uri))


def default_registry() -> ModelRegistry:
    """The registry at settings.registry_root (HOME/registry, or s3://… in production)."""
    from streamloop.core.settings import get_settings

    settings = get_settings()
    if settings.registry_root.startswith("s3://"):
        import boto3

        return ModelRegistry(S3Storage(settings.registry_root, boto3.client("s3", region_name=settings.aws_region)))
    return ModelRegistry(LocalStorage(settings.registry_root))
