"""Making rows deleted from a SQLite file unrecoverable from its bytes (forget, issue 13).

A plain DELETE only unlinks a row: its bytes stay in the page's free space or on the free list, and in WAL
mode the page's older versions stay in the -wal file until a checkpoint copies the newer version into the
database and later writes overwrite the log. So an eraser:

1. deletes on a connection with `pragma secure_delete=on` (per connection: SQLite then zeroes the freed
   cells and free-list pages it writes; builds differ in the default, so it is set explicitly);
2. runs `pragma wal_checkpoint(TRUNCATE)`: the zeroed pages replace the old ones in the database file and
   the -wal file is cut to 0 bytes, so no older frame survives. Other connections may keep the file open
   (the collector's, the campaign runner's): an idle one does not stop the checkpoint; one inside a read
   transaction makes it wait up to the busy timeout, and if it still cannot finish the checkpoint reports
   busy and `scrub` says so (the caller reports the deletion incomplete: running it again finishes it);
3. scans the files for the ids' bytes: a copy written before (an earlier UPDATE by a connection without
   secure_delete leaves its old cell in free space) is only removed by rebuilding the file, so then, for a
   file no larger than `vacuum_limit_bytes`, it runs VACUUM and checkpoints again. A bare id is matched as
   a substring (SQLite stores values without delimiters), so an id inside a longer one ("p1" in "p10")
   costs a needless VACUUM, never a missed one; above the bound it is reported as residue (ids that are
   not substrings of one another, such as UUIDs, never are by mistake).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

_CHUNK_BYTES = 16 << 20
VACUUM_LIMIT_BYTES = 1 << 30  # 1 GiB: VACUUM rewrites the file (and needs as much free disk) while writers wait


def secure(con: sqlite3.Connection) -> sqlite3.Connection:
    """Turns on secure_delete for the deletes this connection makes; returns it."""
    con.execute("pragma secure_delete=on")
    return con


def files_of(path: Path) -> list[Path]:
    """The database file and its -wal (the -shm holds only page numbers, no row bytes)."""
    return [p for p in (path, path.with_name(path.name + "-wal")) if p.is_file()]


def residue(path: Path, needles: Iterable[bytes]) -> list[str]:
    """Names of the files whose raw bytes still contain one of `needles`."""
    wanted = [n for n in needles if n]
    if not wanted:
        return []
    overlap = max(map(len, wanted)) - 1  # a needle split across two chunks is still found
    found = []
    for file in files_of(path):
        with file.open("rb") as handle:  # in chunks: the online store's file may be large
            tail = b""
            while chunk := handle.read(_CHUNK_BYTES):
                data = tail + chunk
                if any(n in data for n in wanted):
                    found.append(file.name)
                    break
                tail = data[-overlap:] if overlap else b""
    return found


def _checkpoint(con: sqlite3.Connection) -> bool:
    """True when the whole WAL was copied into the database and truncated (or the file is not in WAL mode)."""
    busy, _log, _done = con.execute("pragma wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0


def scrub(con: sqlite3.Connection, path: Path, needles: Iterable[bytes],
          vacuum_limit_bytes: int = VACUUM_LIMIT_BYTES) -> str | None:
    """After committed secure deletes on `con` (outside a transaction): checkpoint, then VACUUM if the ids'
    bytes are still in the files. Returns None when they are gone, else why they are not (one line)."""
    path = Path(path)
    needles = list(needles)
    if not _checkpoint(con):
        return (f"{path.name}: the WAL checkpoint was blocked by another connection's read transaction; "
                "deleted bytes stay in the -wal file until the next checkpoint (run the deletion again)")
    if not residue(path, needles):
        return None
    size = path.stat().st_size
    if size > vacuum_limit_bytes:
        return (f"{path.name}: bytes matching a forgotten id remain in free space and the file "
                f"({size >> 20} MiB) is larger than the {vacuum_limit_bytes >> 20} MiB VACUUM bound; "
                "run VACUUM on it in a quiet window")
    con.execute("vacuum")
    if not _checkpoint(con):
        return f"{path.name}: the WAL checkpoint after VACUUM was blocked by another connection's read transaction"
    # the rebuilt file holds live rows only, none of which names an id (the eraser's count checks that); a
    # second scan could only find an id inside a longer kept value
    return None
