"""The data inventory (docs/privacy.md) as data: which warehouse columns hold personal data.

A column is personal when its name says it identifies or contacts a person (ids of profiles, accounts
and devices, network addresses, contact points and their hashes) or holds a raw record that may contain
any of those. `tests/test_privacy_forget.py` checks docs/privacy.md against a built warehouse with it,
so the inventory cannot fall behind the tables.
"""
from __future__ import annotations

import re
from pathlib import Path

PERSONAL_COLUMN = re.compile(
    r"^(profile_id|account_id|device_id|ip|user_agent|address|address_hash|contact_hash|email|push_token|raw"
    r"|context_ip|context_user_agent|user_id|anonymous_id)$"
)


def personal_columns(columns: list[str]) -> list[str]:
    return sorted(c for c in columns if PERSONAL_COLUMN.match(c))


_ROW = re.compile(r"^\|\s*`([a-z0-9_]+)`\s*\|\s*([^|]*)\|\s*([^|]*)\|")


def documented_tables(markdown: Path) -> dict[str, set[str]]:
    """table -> personal columns it lists, from the "Warehouse tables" section of docs/privacy.md."""
    tables: dict[str, set[str]] = {}
    in_section = False
    for line in markdown.read_text().splitlines():
        if line.startswith("## "):
            in_section = line.strip() == "## Warehouse tables"
            continue
        match = _ROW.match(line) if in_section else None
        if match:
            listed = {c.strip(" `") for c in match.group(2).split(",") if c.strip(" `—-")}
            tables[match.group(1)] = listed
    return tables
