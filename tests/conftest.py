"""Shared fixtures: a private STREAMLOOP_HOME per test, Lambda contexts and handlers. Helpers that tests call
directly live in tests/support/ (test modules never import each other or this file)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.home import use_home

from streamloop.core.settings import get_settings


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request, tmp_path, monkeypatch):
    """Messaging tests that take `backend` run against the SQLite ledger and the DynamoDB table (moto)."""
    from support.aws import AtomicCalls, moto_dynamodb
    from support.messaging import Backend

    if request.param == "sqlite":
        yield Backend("sqlite", tmp_path)
        return
    from messaging.dynamodb import create_table

    with moto_dynamodb(monkeypatch, "messaging-test", create=create_table) as client:
        yield Backend("dynamodb", tmp_path, AtomicCalls(client))


@pytest.fixture
def streamloop_home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty STREAMLOOP_HOME for one test."""
    yield use_home(monkeypatch, tmp_path / "home")
    get_settings.cache_clear()


# -- Lambda handlers (real payloads: tests/support/lambda_events.py) ----------------------------------------

@pytest.fixture
def lambda_context():
    from support.lambda_events import LambdaContext

    return LambdaContext()


@pytest.fixture
def api(tmp_path, monkeypatch):
    """The API Lambda module, configured through the environment like on AWS, over a seeded store."""
    import importlib

    from support.functions import API_KEY, seed

    from streamloop.core.store.sqlite import SQLiteStore

    monkeypatch.setenv("STREAMLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("STREAMLOOP_API_KEYS", f"other-key,{API_KEY}")
    get_settings.cache_clear()
    store = SQLiteStore(tmp_path / "online.sqlite")
    seed(store)
    store.close()
    import functions.api.handler as module

    yield importlib.reload(module)
    get_settings.cache_clear()


def pytest_configure(config):
    # Parallel workers (`make test`: pytest-xdist) each parse the dbt project into their own target folder, so one
    # worker's parse never rewrites the manifest another is reading. Runs before any test module imports the project.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["DBT_TARGET_PATH"] = f"target/pytest-{os.environ['PYTEST_XDIST_WORKER']}"


# The modules that take longest (minutes: local Spark, end-to-end loops), started first so that parallel
# workers (xdist --dist loadfile hands out whole modules in collection order) finish together.
LONGEST_MODULES = (
    "test_warehouse_spark.py", "test_twin.py", "test_warehouse_changed_rows_tests.py", "test_package.py",
    "test_warehouse_incremental.py", "test_messaging_loop.py", "test_compaction_build.py", "test_ml_small_service.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: position for position, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
