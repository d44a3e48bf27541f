"""Raw-lake retention: received-date partitions older than the retention setting are deleted.

What the warehouse derived from them stays (marts, features); a later full refresh can only rebuild
from what the lake still holds, which docs/privacy.md states. Catalog files are reference data, kept.
"""
from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

from streamloop.core.lake import RECORD_KINDS, Lake, partition_of


def expired_partitions(lake: Lake, retention_days: int, today: date) -> list[str]:
    """Partition folders (events, rejected, ignored) whose received date is before today − retention_days."""
    if retention_days <= 0:
        return []
    cutoff = today - timedelta(days=retention_days)
    folders = set()
    for kind in RECORD_KINDS:
        for path in lake.files(kind):
            day = partition_of(path)
            if day and date.fromisoformat(day) < cutoff:
                folders.add(path.rsplit("/", 1)[0])
    return sorted(folders)


def apply_retention(lake: Lake, retention_days: int, today: date) -> list[str]:
    """Deletes the expired partitions; returns them."""
    folders = expired_partitions(lake, retention_days, today)
    for folder in folders:
        if lake.is_s3:
            bucket, _, prefix = folder[5:].partition("/")
            client = lake._s3()
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        else:
            shutil.rmtree(Path(folder), ignore_errors=False)
    return folders
