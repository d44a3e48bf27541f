"""`streamloop ingest`: validate JSON / JSON-lines files at the edge and land them in the raw lake.

Every record read is accounted for: accepted records land in `events/` (or `catalog/`), records that
break the contract (or are not JSON at all) land in `rejected/` with the reason naming the field, and
repeated ids within one file are counted as duplicates (the first copy is kept). Counts reconcile:
received = accepted + duplicates + rejected + suppressed. Duplicates across files are the warehouse's job.

Privacy: the edge's rules (streamloop.core.privacy.edge.EdgePrivacy, the collector's own code) apply here
too. Events of forgotten people (the suppression list) never land and are counted as `suppressed` —
checked first, so such a record counts once, never also as a duplicate or a reject; `context.ip` and
`context.user_agent` are minimized in accepted and rejected records exactly as the collector does.

Idempotence: a batch id is a hash of the file's (decompressed) content and the chunk number, so a
batch id always names the same records. A batch already landed is not written again — re-ingesting a
file adds no lake file, even on another day (whose received-date partition would otherwise differ), and
even after compaction merged the batch's files into `compacted-*` files (whose names no longer say which
batches they hold): every batch landed is recorded in a ledger beside the data, `_landed/<kind>/<batch
id>.json` (no record, no file name: only the batch id and a count), which no reader's glob matches and
compaction, retention and erasure leave alone. The valid records of an already-landed batch are counted
as duplicates (they are in the lake), its rejects as rejects again, like a retried request to the collector.

`Landing` (validate, de-duplicate, land a batch) is shared with the public-data importers, which land
through `edge_landing` too: the same privacy rules, one place.
"""
from __future__ import annotations

import gzip
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson

from streamloop.core.compaction import LakeFiles
from streamloop.core.contract import validate_catalog_record, validate_event
from streamloop.core.errors import StreamloopError
from streamloop.core.lake import SUPPRESSED_RAW, Lake, batch_file_name, new_batch_id
from streamloop.core.privacy.edge import EdgePrivacy
from streamloop.core.progress import say
from streamloop.core.records import record_problems, split_array
from streamloop.core.store.base import OnlineStore

SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
RECORDS_PER_BATCH = 50_000  # one lake file per this many records keeps memory bounded on big files
PROGRESS_EVERY = 200_000
LEDGER = "_landed"  # <lake>/_landed/<kind>/<batch id>.json: batches landed, whatever compaction did to their files

Kind = Literal["events", "catalog"]
# One record as read: its raw JSON text, the parsed value (None when unparseable) and the parse error.
Candidate = tuple[str, object, str | None]

_NOT_ONE_DOCUMENT = object()
_GOT_RE = re.compile(r" \(got .*\)$")
_VALUE_RE = re.compile(r": '.*' does not match ")


def reason_key(error: str) -> str:
    """An error message without the offending value, so the same mistake counts as one reason."""
    return _VALUE_RE.sub(": value does not match ", _GOT_RE.sub("", error))


@dataclass
class Tally:
    """How many records were received, accepted, de-duplicated and rejected, and why."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    suppressed: int = 0  # events of people who asked to be forgotten: dropped, never landed

    def add(self, other: Tally) -> None:
        self.received += other.received
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.suppressed += other.suppressed
        self.reasons.update(other.reasons)

    def check(self) -> None:
        # Reconciliation is the promise of CONTRACT §2; a mismatch is a bug here, not bad input.
        assert self.received == self.accepted + self.duplicates + self.rejected + self.suppressed, self

    def line(self) -> str:
        line = (f"received {self.received:,} · accepted {self.accepted:,} · "
                f"duplicates {self.duplicates:,} · rejected {self.rejected:,}")
        return line + (f" · suppressed {self.suppressed:,}" if self.suppressed else "")

    def top_reasons(self, n: int = 5) -> list[str]:
        return [f"{count:,} × {reason}" for reason, count in self.reasons.most_common(n)]


@dataclass
class Screened:
    """One batch after validation: the raw texts to land and the rejects with their reasons, each with its
    position in the batch (its lake record_index: accepted and rejected records never share a key)."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    accepted_records: list[dict] = field(default_factory=list)
    # per accepted text, its record when the text lands as parsed (not rewritten by privacy minimization):
    # the lake then types it without a second parse and validation (Lake.write_table's `validated`)
    accepted_validated: list[dict | None] = field(default_factory=list)
    accepted_positions: list[int] = field(default_factory=list)
    rejected_positions: list[int] = field(default_factory=list)
    suppressed_positions: list[int] = field(default_factory=list)  # landed as `suppressed` rows, text left out


class Landing:
    """Validates records of one kind against the contract and lands them as deterministic lake batches.

    With `privacy` (and, for events, the online `store` holding the suppression list) the edge's privacy
    rules apply as in the collector: forgotten people's events are suppressed, personal context minimized."""

    def __init__(self, kind: Kind, lake: Lake | None = None, received_at: datetime | None = None,
                 privacy: EdgePrivacy | None = None, store: OnlineStore | None = None):
        from streamloop.core.settings import get_settings

        if privacy is not None and kind == "events" and store is None:
            raise ValueError("the suppression check needs the online store")
        self.kind = kind
        self.lake = lake or Lake(get_settings().lake_root)
        self.received_at = received_at or datetime.now(UTC)
        self.privacy = privacy
        self.store = store
        self._id_field = "event_id" if kind == "events" else "title_id"
        self._files = LakeFiles(self.lake)
        self._ledger = f"{self.lake.root}/{LEDGER}"
        # (kind, batch file name) of every batch landed: recorded in the ledger, or still a batch-* file
        self._recorded = {key for path in self._files.list(self._ledger) if (key := self._ledger_key(path))}
        self._landed = self._recorded | {(k, Path(p).name) for k in (kind, "rejected", "suppressed")
                                         for p in self.lake.files(k)}
        self.files_written: list[str] = []
        self.batches_already_landed = 0

    def screen(self, candidates: Iterable[Candidate], seen: set, tally: Tally) -> Screened:
        """Validates each candidate; the first valid copy of an id is accepted, later ones are duplicates.
        A forgotten person's event is suppressed before anything else (one store read per call)."""
        candidates = list(candidates)
        gone: set[int] = set()
        if self.privacy is not None and self.kind == "events":
            gone = self.privacy.suppressed(self.store, [record for _, record, _ in candidates])
        out = Screened()
        for position, (raw, record, parse_error) in enumerate(candidates):
            tally.received += 1
            if position in gone:
                tally.suppressed += 1
                out.suppressed_positions.append(position)
                continue
            if parse_error is not None:
                errors = [parse_error]
            elif self.kind == "events":
                errors = validate_event(record, received_at=self.received_at)
            else:
                errors = validate_catalog_record(record)
            if errors:
                tally.rejected += 1
                tally.reasons.update(reason_key(e) for e in errors)
                out.rejected.append(raw if self.privacy is None else self.privacy.minimized_raw(raw))
                out.reasons.append("; ".join(errors))
                out.rejected_positions.append(position)
                continue
            record_id = record[self._id_field]
            if record_id in seen:
                tally.duplicates += 1
                continue
            seen.add(record_id)
            tally.accepted += 1
            text = raw if self.privacy is None else self.privacy.minimized_text(record, raw)
            out.accepted.append(text)
            out.accepted_records.append(record)
            out.accepted_validated.append(record if text is raw else None)
            out.accepted_positions.append(position)
        return out

    def land(self, screened: Screened, source: str, batch_id: str) -> int:
        """Writes the accepted and rejected records of one batch, unless that batch was landed before.

        Returns how many of the accepted records were already landed (by an earlier run)."""
        already = 0
        for kind, raws, reasons, positions in (
                (self.kind, screened.accepted, None, screened.accepted_positions),
                ("rejected", screened.rejected, screened.reasons, screened.rejected_positions),
                ("suppressed", [SUPPRESSED_RAW] * len(screened.suppressed_positions), None,
                 screened.suppressed_positions)):
            if not raws:
                continue
            key = (kind, batch_file_name(batch_id))
            if key in self._landed:
                self.batches_already_landed += 1
                already += len(raws) if kind == self.kind else 0
                if key not in self._recorded:  # landed before the ledger (or a crash before its entry)
                    self._record(kind, batch_id, len(raws))
                continue
            validated = screened.accepted_validated if kind == "events" and raws is screened.accepted else None
            self.files_written += self.lake.write_records(kind, raws, source=source, received_at=self.received_at,
                                                          batch_id=batch_id, reasons=reasons,
                                                          record_indexes=positions, validated=validated)
            self._record(kind, batch_id, len(raws))  # after the batch is durable: an entry never lies
            self._landed.add(key)
        return already

    def _record(self, kind: str, batch_id: str, records: int) -> None:
        entry = {"kind": kind, "batch_id": batch_id, "records": records,
                 "landed_at": self.received_at.isoformat(timespec="seconds")}
        self._files.write_bytes(f"{self._ledger}/{kind}/{batch_id}.json", orjson.dumps(entry))
        self._recorded.add((kind, batch_file_name(batch_id)))

    def _ledger_key(self, path: str) -> tuple[str, str] | None:
        kind, _, name = path[len(self._ledger) + 1:].partition("/")
        return (kind, batch_file_name(name.removesuffix(".json"))) if name.endswith(".json") else None


# -- reading files ---------------------------------------------------------------------------------

def expand_paths(paths: list[str]) -> list[Path]:
    """The files to ingest: each file as given, and every JSON(L)(.gz) file under each folder, sorted."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise StreamloopError(f"{given}: no such file or folder")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
            if not found:
                raise StreamloopError(f"{given}: no {', '.join(SUFFIXES)} files in this folder")
            files += found
        else:
            files.append(path)
    return files


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def content_sha1(path: Path) -> str:
    """SHA-1 of the (decompressed) content; reading it all first also catches a broken gzip before landing."""
    digest = hashlib.sha1()
    try:
        with _open(path) as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except (OSError, EOFError) as exc:
        raise StreamloopError(f"{path}: cannot read ({exc})") from None
    return digest.hexdigest()


def _candidate(raw: bytes) -> Candidate:
    text = raw.decode("utf-8", errors="replace")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return text, None, f"record: not valid JSON ({exc})"
    # orjson refuses infinities and unpaired surrogates (a parse error above) and reads big integers as
    # floats: only nesting is left to check
    problems = record_problems(value, text, odd_number=False)
    return (text, None, "; ".join(problems)) if problems else (text, value, None)


def _looks_like_one_document(path: Path) -> bool:
    """A `.json` file is one document (an array, or one pretty-printed record) unless its first non-blank
    line is a complete JSON object by itself: then it is JSON lines, read as a stream."""
    with _open(path) as f:
        for line in f:
            if not line.strip():
                continue
            if line.lstrip().startswith(b"["):
                return True
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                return True
            return False
    return False


def iter_candidates(path: Path) -> Iterator[Candidate]:
    """Records of one file. A `.json` file may hold one JSON array (or object); anything else is JSON lines."""
    if path.name.endswith((".json", ".json.gz")) and _looks_like_one_document(path):
        with _open(path) as f:
            content = f.read()
        try:
            whole = orjson.loads(content)
        except orjson.JSONDecodeError:
            whole = _NOT_ONE_DOCUMENT  # e.g. JSON lines whose first line is broken: read as lines below
        if isinstance(whole, list):
            # each element lands as its own text in the file (streamloop.core.records finds where it is)
            for record in split_array(content.decode("utf-8", errors="replace")):
                yield record.text, record.value, "; ".join(record.errors) or None
            return
        if whole is not _NOT_ONE_DOCUMENT:
            yield content.decode("utf-8", errors="replace").strip(), whole, None
            return
    with _open(path) as f:
        for line in f:
            if line.strip():
                yield _candidate(line.strip())


def _chunks(items: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    chunk: list[Candidate] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- the command -----------------------------------------------------------------------------------

@dataclass
class FileResult:
    name: str
    tally: Tally
    already_landed: bool


@dataclass
class IngestSummary:
    kind: Kind
    files: list[FileResult]
    total: Tally
    files_written: list[str]

    def render(self) -> str:
        lines = [f"ingest ({self.kind}): {len(self.files)} file(s)"]
        for result in self.files:
            note = "  (already in the lake: nothing new landed)" if result.already_landed else ""
            lines.append(f"  {result.name}: {result.tally.line()}{note}")
        lines.append(f"total: {self.total.line()}")
        lines.append(f"lake files written: {len(self.files_written)}")
        if self.total.reasons:
            lines.append("top rejection reasons:")
            lines += [f"  {reason}" for reason in self.total.top_reasons()]
        return "\n".join(lines)


def ingest_paths(paths: list[str], catalog: bool = False, lake: Lake | None = None,
                 store: OnlineStore | None = None) -> IngestSummary:
    """Validates and lands every record of the given files/folders; see the module docstring.

    `store` holds the suppression list (default: the configured online store, opened for the run)."""

    kind: Kind = "catalog" if catalog else "events"
    files = expand_paths(paths)
    with edge_landing(kind, lake, store) as landing:
        return _ingest_files(files, kind, landing)


@contextmanager
def edge_landing(kind: Kind, lake: Lake | None = None, store: OnlineStore | None = None,
                 received_at: datetime | None = None) -> Iterator[Landing]:
    """A `Landing` that applies the edge's privacy rules (EdgePrivacy: the suppression list, context
    minimization), as the collector does: how `streamloop ingest` and the importers land, so a forgotten
    person re-enters the lake through none of them. `store` holds the suppression list (default: the
    configured online store, opened here and closed on exit)."""
    from streamloop.core.settings import get_settings

    settings = get_settings()
    opened = None
    if store is None and kind == "events":  # catalog records name no person: no suppression check
        from streamloop.core.store import get_store

        store = opened = get_store(settings)
    try:
        yield Landing(kind, lake, received_at=received_at, privacy=EdgePrivacy.from_settings(settings), store=store)
    finally:
        if opened is not None:
            opened.close()


def _ingest_files(files: list[Path], kind: Kind, landing: Landing) -> IngestSummary:
    total = Tally()
    results = []
    for number, path in enumerate(files, 1):
        sha1 = content_sha1(path)
        if len(files) > 1:
            say(f"  [{number}/{len(files)}] {path.name}")
        tally = Tally()
        seen: set = set()
        skipped_before = landing.batches_already_landed
        written_before = len(landing.files_written)
        next_report = PROGRESS_EVERY
        for chunk_no, chunk in enumerate(_chunks(iter_candidates(path), RECORDS_PER_BATCH)):
            screened = landing.screen(chunk, seen, tally)
            landed_before = landing.land(screened, source=f"ingest:{path.name}",
                                         batch_id=new_batch_id("ingest", kind, sha1, str(chunk_no)))
            tally.accepted -= landed_before  # in the lake since an earlier run: duplicates of what landed then
            tally.duplicates += landed_before
            if tally.received >= next_report:
                say(f"    {path.name}: {tally.received:,} records …")
                next_report += PROGRESS_EVERY
        tally.check()
        already = landing.batches_already_landed > skipped_before and len(landing.files_written) == written_before
        results.append(FileResult(path.name, tally, already))
        total.add(tally)
    total.check()
    return IngestSummary(landing.kind, results, total, landing.files_written)
