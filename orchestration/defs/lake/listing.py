"""What is in the lake and when it landed: the lake sensor's view of new files.

A file's modification time is when it landed (lake files are written once, atomically), so
"newer than the newest file already seen" is the sensor's cursor. Files landing in the same
instant are told apart by path, so none is missed or counted twice.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from streamloop.core.lake import KINDS, Lake, partition_of


@dataclass(frozen=True)
class LakeFile:
    path: str
    kind: str  # events | catalog | rejected
    modified_at: float  # seconds since the epoch

    @property
    def received_date(self) -> str | None:
        """The received-date partition, or None for the unpartitioned catalog."""
        return partition_of(self.path)


def list_lake_files(lake: Lake) -> list[LakeFile]:
    if lake.is_s3:
        return _list_s3(lake)
    return [LakeFile(path, kind, os.stat(path).st_mtime) for kind in KINDS for path in lake.files(kind)]


def _list_s3(lake: Lake) -> list[LakeFile]:
    import boto3

    from streamloop.core.settings import get_settings

    bucket, _, prefix = lake.root[5:].partition("/")
    paginator = boto3.client("s3", region_name=get_settings().aws_region).get_paginator("list_objects_v2")
    found = []
    for kind in KINDS:
        kind_prefix = f"{prefix}/{kind}/" if prefix else f"{kind}/"
        for page in paginator.paginate(Bucket=bucket, Prefix=kind_prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith(".parquet"):
                    found.append(LakeFile(f"s3://{bucket}/{obj['Key']}", kind, obj["LastModified"].timestamp()))
    return found


@dataclass(frozen=True)
class LakeCursor:
    """The newest modification time seen, and the paths seen at exactly that time."""

    newest: float = 0.0
    paths_at_newest: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str | None) -> LakeCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data["newest"], frozenset(data["paths_at_newest"]))

    def serialize(self) -> str:
        return json.dumps({"newest": self.newest, "paths_at_newest": sorted(self.paths_at_newest)})

    def new_files(self, files: list[LakeFile]) -> list[LakeFile]:
        return [f for f in files if f.modified_at > self.newest
                or (f.modified_at == self.newest and f.path not in self.paths_at_newest)]

    def advance(self, new_files: list[LakeFile]) -> LakeCursor:
        if not new_files:
            return self
        newest = max(f.modified_at for f in new_files)
        at_newest = {f.path for f in new_files if f.modified_at == newest}
        if newest == self.newest:
            at_newest |= self.paths_at_newest
        return LakeCursor(newest, frozenset(at_newest))
