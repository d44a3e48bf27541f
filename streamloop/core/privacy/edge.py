"""What the edge (collector, `streamloop ingest`) does for privacy before anything lands:

- drops the events of forgotten people (the suppression list), counted as `suppressed` (CONTRACT §2, §6);
- minimizes context: `context.ip` and `context.user_agent` are dropped (default) or pseudonymized with
  the privacy salt (STREAMLOOP_EDGE_IP = drop | pseudonymize | keep). Only records that carry them are
  re-serialized; every other record keeps its original bytes. Rejected and ignored records (kept as
  sent, for replay) are minimized the same way from their own text: they carry the same context.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from streamloop.core.privacy.subjects import salted_hash
from streamloop.core.privacy.suppression import SuppressionList
from streamloop.core.store.base import OnlineStore

PERSONAL_CONTEXT = ("ip", "user_agent", "userAgent")  # userAgent: a Segment message's context
NEEDLES = tuple(f'"{key}"' for key in PERSONAL_CONTEXT)


@dataclass(frozen=True)
class EdgePrivacy:
    salt: bytes
    ip_policy: str = "drop"  # drop | pseudonymize | keep

    @classmethod
    def from_settings(cls, settings) -> EdgePrivacy:
        from streamloop.core.privacy.subjects import privacy_salt

        return cls(privacy_salt(settings), settings.edge_ip)

    def suppressed(self, store: OnlineStore, events: Sequence[object]) -> set[int]:
        """Indexes of the events whose profile or account was forgotten (one store read)."""
        return SuppressionList(store, self.salt).suppressed_indexes(events)

    def minimized_raw(self, text: str) -> str:
        """`minimized_text` for a record known only by its text (a reject, an ignored Segment message).
        Parsed only when the text names a personal key; the standard parser keeps what orjson refuses
        (integers past 64 bits), so an odd record is minimized too."""
        if self.ip_policy == "keep" or not any(needle in text for needle in NEEDLES):
            return text
        try:
            record = json.loads(text)
        except ValueError:
            return text  # not JSON: no context to find
        context = record.get("context") if isinstance(record, dict) else None
        if not isinstance(context, dict) or not any(k in context for k in PERSONAL_CONTEXT):
            return text
        return json.dumps(record | {"context": self._kept(context)})  # ASCII: a lone surrogate stays escaped

    def minimized_text(self, event: object, text: str) -> str:
        """The text to land: `text` itself unless the event carries personal context to drop or hash."""
        if self.ip_policy == "keep" or not isinstance(event, dict):
            return text
        context = event.get("context")
        if not isinstance(context, dict) or not any(k in context for k in PERSONAL_CONTEXT):
            return text
        return orjson.dumps({**event, "context": self._kept(context)}).decode()

    def _kept(self, context: dict) -> dict:
        if self.ip_policy == "drop":
            return {k: v for k, v in context.items() if k not in PERSONAL_CONTEXT}
        return {k: ("hmac-sha256:" + salted_hash(str(v), self.salt) if k in PERSONAL_CONTEXT else v)
                for k, v in context.items()}
