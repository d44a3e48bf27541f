"""Structured JSON logs (one object per line on stderr) carrying the request id of the request being served.

On Lambda every line also carries the invocation's `aws_request_id` (what CloudWatch and X-Ray key on)
and `cold_start` (true on the first invocation of an execution environment), set by the handler.
"""
from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
invocation_var: ContextVar[dict | None] = ContextVar("invocation", default=None)  # Lambda: request id, cold start


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
                 "request_id": request_id_var.get()}
        invocation = invocation_var.get()
        if invocation:
            entry.update(invocation)
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: int = logging.INFO) -> None:
    """Routes the `streamloop` loggers to stderr as JSON lines (idempotent)."""
    root = logging.getLogger("streamloop")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
