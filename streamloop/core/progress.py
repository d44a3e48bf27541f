"""Progress lines and end-of-step summaries for long CLI steps (stderr, so stdout stays parseable)."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def step(name: str):
    """Prints `name …` then `name done in Xs`; yields nothing."""
    start = time.perf_counter()
    say(f"▸ {name} …")
    yield
    say(f"✓ {name} done in {time.perf_counter() - start:.1f}s")
