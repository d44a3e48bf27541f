"""Helpers shared by several test modules (test modules never import each other): `support.functions`
(serving: catalog, seeded services, live server, event builders), `support.lambda_events` (real Lambda
payloads), `support.bandit_pages` (simulated bandit pages with known truth), `support.messaging` (a real DuckDB
warehouse with the messaging mart's columns, campaigns and runners). Shared fixtures live in
tests/conftest.py."""
