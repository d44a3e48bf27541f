"""dbt's copies of the product's shared facts (dbt_project.yml vars) equal their one definition in core, and
every var a model reads is a documented `streamloop_` var with no inline default."""
from __future__ import annotations

import re

import yaml

from streamloop.core.constants import COMPLETION_THRESHOLD, DEVICE_TYPES, MAX_FUTURE_SKEW_SECONDS, SESSION_GAP_MINUTES
from streamloop.core.lake import LAYOUT
from streamloop.core.settings import DBT_PROJECT_DIR

VARS = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
_VAR_CALL = re.compile(r"""(?<![a-z_])var\(\s*['"]([^'"]+)['"]\s*(,[^)]*)?\)""")


def _dbt_sources():
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        if path.suffix in (".sql", ".yml") and not {"target", "dbt_packages", "logs"} & set(path.parts):
            yield path, path.read_text()


def test_dbt_vars_equal_the_core_constants():
    assert VARS["streamloop_session_gap_minutes"] == SESSION_GAP_MINUTES
    assert VARS["streamloop_completion_threshold"] == COMPLETION_THRESHOLD
    assert VARS["streamloop_device_types"] == list(DEVICE_TYPES)
    assert VARS["streamloop_max_future_skew_hours"] * 3600 == MAX_FUTURE_SKEW_SECONDS
    assert VARS["streamloop_lake_globs"] == LAYOUT


def test_the_events_mart_accepts_exactly_the_contract_device_types():
    columns = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / "events.yml").read_text())["models"][0]["columns"]
    tests = next(c for c in columns if c["name"] == "device_type")["data_tests"]
    accepted = next(t["accepted_values"] for t in tests if isinstance(t, dict) and "accepted_values" in t)
    assert accepted["arguments"]["values"] == list(DEVICE_TYPES)


def test_every_var_is_prefixed_defined_once_and_read_without_inline_default():
    assert all(name.startswith("streamloop_") for name in VARS)
    used = set()
    for path, text in _dbt_sources():
        if path.name == "dbt_project.yml":
            continue
        for name, default in _VAR_CALL.findall(text):
            assert name in VARS, f"{path.relative_to(DBT_PROJECT_DIR)}: var {name!r} is not in dbt_project.yml"
            assert not default, f"{path.relative_to(DBT_PROJECT_DIR)}: var {name!r} has an inline default"
            used.add(name)
        # unit tests override vars by name: those must exist too
        for block in re.findall(r"vars:\s*\{([^}]*)\}", text):
            for name in re.findall(r"([a-z_]+)\s*:", block):
                assert name in VARS, f"{path.relative_to(DBT_PROJECT_DIR)}: unit test overrides unknown var {name!r}"
    assert used == set(VARS), f"vars defined but never read: {sorted(set(VARS) - used)}"
