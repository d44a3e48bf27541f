"""The warehouse's contract seeds are generated from the JSON Schema and must not drift from it."""
from __future__ import annotations

from streamloop.core.contract import EVENT_TYPES, required_properties
from streamloop.core.contract.export_seeds import SEEDS_DIR, field_rows, seed_texts


def test_committed_seeds_equal_the_export_of_the_schema():
    for name, text in seed_texts().items():
        committed = (SEEDS_DIR / name).read_text()
        assert committed == text, f"{name} is stale: run `python -m streamloop.core.contract.export_seeds`"


def test_seed_rows_carry_every_required_property_of_every_type():
    required = {(r["event_type"], r["field"][11:]) for r in field_rows()
                if r["is_required"] == "true" and r["field"].startswith("properties.")}
    assert required == {(t, p) for t in EVENT_TYPES for p in required_properties(t)}
    login_ids = {r["field"] for r in field_rows() if r["event_type"] == "login" and not r["field"].startswith("properties.")}
    assert login_ids == {"profile_id", "account_id"}
