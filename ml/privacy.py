"""The model registry's eraser (streamloop.core.privacy): per-person rows in registered artifacts.

Per-person rows live only in the recommender's batch outputs (`candidates.parquet`: profile → ranked
titles). They are rewritten without the person and the version's recorded sha256 updated, so loading
stays verified. Everything else a model keeps is aggregate: XGBoost trees and the recommender's item
statistics (popularity, item–item similarities, EASE/ALS item factors: `similar.parquet` is title → title)
and the reports' plots. A person's past plays still shaped those aggregates until the next training,
which reads the cleaned warehouse (docs/privacy.md "What models keep").
"""
from __future__ import annotations

import hashlib
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from ml.registry import ModelRegistry, default_registry
from streamloop.core.privacy.erasers import Erasure, needles_of, register
from streamloop.core.settings import Settings


class RegistryEraser:
    name = "model registry"

    def __init__(self, registry: ModelRegistry):
        self.registry = registry

    def _parquet_artifacts(self):
        for name in self.registry.names():
            for version in self.registry.versions(name):
                ref = self.registry.get(name, version)
                for filename in ref.artifacts:
                    if filename.endswith(".parquet"):
                        yield name, version, filename

    def _scan(self, ids: frozenset[str], rewrite: bool) -> int:
        needles = [n.decode() for n in needles_of(ids)]
        total = 0
        for name, version, filename in list(self._parquet_artifacts()):
            key = f"{name}/v{version}/{filename}"
            table = pq.read_table(io.BytesIO(self.registry.storage.read(key)))
            mask = [False] * table.num_rows
            for column in table.column_names:
                if pa.types.is_string(table.schema.field(column).type):
                    for i, value in enumerate(table.column(column).to_pylist()):
                        if value is not None and (value in ids or any(n in value for n in needles)):
                            mask[i] = True
            hits = sum(mask)
            total += hits
            if hits and rewrite:
                buffer = io.BytesIO()
                pq.write_table(table.filter(pa.array([not m for m in mask])), buffer)
                data = buffer.getvalue()
                self.registry.storage.write(key, data)
                meta_key = f"{name}/v{version}/metadata.json"
                meta = json.loads(self.registry.storage.read(meta_key))
                meta["artifacts"][filename] = hashlib.sha256(data).hexdigest()
                self.registry.storage.write(meta_key, json.dumps(meta, indent=2, default=str).encode())
        return total

    def erase(self, ids: frozenset[str], event_ids: frozenset[str]) -> Erasure:
        return Erasure(self.name, self._scan(ids, rewrite=True))

    def count(self, ids: frozenset[str]) -> int:
        return self._scan(ids, rewrite=False)


def _registry(settings: Settings) -> RegistryEraser:
    return RegistryEraser(default_registry())


register(_registry, order=40)
