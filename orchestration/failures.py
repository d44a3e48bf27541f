"""How a failed Dagster step reads in one line (the CLI's error, the progress log)."""
from __future__ import annotations

import re


def failure_message(data) -> str:
    """A step failure's first line: a raised dg.Failure's description, else the error's own words
    (the cause's, when an error was re-raised around another)."""
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description.strip().splitlines()[0]
    error = data.error.cause or data.error
    first = error.message.strip().splitlines()[0]
    # the message reads "module.ErrorClass: words" (traceback style): keep the words
    return re.sub(rf"^[\w.]*\b{re.escape(error.cls_name or '')}: ", "", first) if error.cls_name else first
