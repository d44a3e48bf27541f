from datetime import UTC, datetime, timedelta, timezone

import pytest

from streamloop.core import clock


def test_frozen_clock_reads_the_frozen_instant_and_restores(monkeypatch):
    monkeypatch.delenv("STREAMLOOP_NOW", raising=False)
    t = datetime(2025, 3, 30, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    with clock.frozen(t):
        assert clock.now() == datetime(2025, 3, 29, 23, 30, tzinfo=UTC)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5


def test_environment_sets_the_service_calendar(monkeypatch):
    monkeypatch.setenv("STREAMLOOP_NOW", "2025-01-02")
    assert clock.now() == datetime(2025, 1, 2, tzinfo=UTC)
    monkeypatch.setenv("STREAMLOOP_NOW", "2025-01-02T10:00:00Z")
    assert clock.now() == datetime(2025, 1, 2, 10, tzinfo=UTC)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        clock.set_now(datetime(2025, 1, 1))
