"""What a simulation run is: size, seed, first day and the rates of delivery faults."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from streamloop.core import clock
from streamloop.core.errors import StreamloopError
from streamloop.core.settings import REPO_ROOT

# Without --start a simulation ENDS on this fixed day (its last simulated day is the day before), so
# the same seed lands the same lake, the same metrics and the same benchmark tables on any day it runs.
# `start_date="today"` asks for a service whose data ends yesterday (UTC) instead.
DEFAULT_END_DATE = date(2026, 1, 1)
ENDING_TODAY = "today"


@dataclass(frozen=True)
class SimulationConfig:
    """One simulation run. The same config (seed included) always lands the same lake content.

    profiles:        viewer profiles; households (accounts) of 1–5 profiles are formed until this many exist
    days:            days of activity, starting at `start_date`
    seed:            seeds every random choice
    start_date:      first day (date or YYYY-MM-DD); default `days` before DEFAULT_END_DATE (2026-01-01), so
                     the last simulated day is 2025-12-31 whatever day it runs; "today" → data ends yesterday
    late_rate:       share of events received 1–5 days after they occurred
    duplicate_rate:  share of events delivered twice (same event_id, same text)
    malformed_rate:  extra malformed records per event (broken JSON, wrong types, unknown type, …)
    workers:         processes to use; None = one per CPU. The output does not depend on it.
    experiments_dir: the experiment files the simulated service runs (the product's own by default), so
                     simulated exposures name the product's experiments, variants and assignments
    """

    profiles: int = 2000
    days: int = 60
    seed: int = 7
    start_date: date | str | None = None
    late_rate: float = 0.01
    duplicate_rate: float = 0.005
    malformed_rate: float = 0.002
    workers: int | None = field(default=None, compare=False)
    experiments_dir: Path = REPO_ROOT / "experiments"

    def __post_init__(self):
        if self.profiles < 1:
            raise StreamloopError(f"profiles must be at least 1 (got {self.profiles})")
        if self.days < 1:
            raise StreamloopError(f"days must be at least 1 (got {self.days})")
        for name in ("late_rate", "duplicate_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 0.5:
                raise StreamloopError(f"{name.replace('_', '-')} must be between 0 and 0.5 (got {value})")
        start = self.start_date
        if start is None:
            start = DEFAULT_END_DATE - timedelta(days=self.days)
        elif start == ENDING_TODAY:
            start = clock.now().date() - timedelta(days=self.days)
        elif isinstance(start, str):
            try:
                start = date.fromisoformat(start)
            except ValueError:
                raise StreamloopError(f"start date must be YYYY-MM-DD (got {self.start_date!r})") from None
        object.__setattr__(self, "start_date", start)

    @property
    def end_date(self) -> date:
        """The day after the last simulated day: the service's "today" when its data was last collected."""
        return self.start_date + timedelta(days=self.days)
