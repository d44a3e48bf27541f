"""make package: which code and dependencies each Lambda artifact holds, that the zip is reproducible,
and (slow) a real build from platform wheels, within limits, answering real payloads from the unpacked zip."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from deploy.artifact import FUNCTIONS, build_tree, trim, write_zip
from deploy.cold_start import measure, unpack
from deploy.dependencies import REPO_ROOT, handler_requirements, third_party_modules
from deploy.image import BASE_IMAGE
from deploy.package import package_function

FORBIDDEN = {"xgboost", "scikit-learn", "dagster", "dbt-core", "pandas", "duckdb", "numpy", "scipy"}


def test_the_api_function_needs_serving_dependencies_and_nothing_from_training():
    modules = third_party_modules(REPO_ROOT / "functions/api/handler.py")
    assert {"fastapi", "mangum", "pydantic_settings", "orjson", "pyarrow", "boto3"} <= modules
    names = {pin.name for pin in handler_requirements(REPO_ROOT / "functions/api/handler.py")}
    assert {"fastapi", "starlette", "pydantic-core", "mangum", "pyarrow"} <= names
    assert names & FORBIDDEN == set()


def test_dependencies_are_pinned_to_the_installed_versions():
    from importlib.metadata import version

    pins = handler_requirements(REPO_ROOT / "functions/api/handler.py")
    assert all(pin.version == version(pin.name) for pin in pins)
    assert [pin.name for pin in pins] == sorted(pin.name for pin in pins)


def test_the_lifecycle_handler_in_a_namespace_folder_is_followed():
    # functions/lifecycle has no __init__.py: its imports are read from the files themselves
    modules = third_party_modules(REPO_ROOT / "functions/lifecycle/handler.py")
    assert "pydantic_settings" in modules
    assert modules.isdisjoint({"xgboost", "dagster", "sklearn"})


def _tree(root: Path) -> Path:
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("X = 1\n")
    (root / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"stale")
    (root / "pkg" / "tests").mkdir()
    (root / "pkg" / "tests" / "test_x.py").write_text("")
    (root / "pkg" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "pkg" / "run.sh", 0o755)
    (root / "pkg-1.0.dist-info").mkdir()
    (root / "pkg-1.0.dist-info" / "direct_url.json").write_text('{"url": "file:///tmp/x"}')
    (root / "pkg-1.0.dist-info" / "RECORD").write_text(
        "pkg/__init__.py,sha256=a,6\npkg/tests/test_x.py,,\npkg-1.0.dist-info/direct_url.json,,\n../../bin/x,,\n")
    return root


def test_trimming_drops_tests_caches_and_build_paths_and_keeps_record_true(tmp_path):
    tree = _tree(tmp_path / "fn")
    trim(tree)
    files = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
    assert files == ["pkg-1.0.dist-info/RECORD", "pkg/__init__.py", "pkg/run.sh"]
    assert (tree / "pkg-1.0.dist-info" / "RECORD").read_text() == "pkg/__init__.py,sha256=a,6\n"


def test_the_zip_is_byte_for_byte_reproducible(tmp_path):
    # GIVEN the same tree written twice, with different file times and creation order
    first, second = _tree(tmp_path / "a" / "fn"), _tree(tmp_path / "b" / "fn")
    os.utime(second / "pkg" / "__init__.py", (1, 1))
    # WHEN zipped
    one, two = write_zip(first, tmp_path / "out1"), write_zip(second, tmp_path / "out2")
    # THEN the bytes (and so the content-addressed names) are equal, entries sorted, times fixed, modes kept
    assert one.read_bytes() == two.read_bytes()
    assert one.name == two.name and one.name.startswith("fn-")
    with zipfile.ZipFile(one) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {i.filename: i.external_attr >> 16 for i in infos}
    assert modes["pkg/run.sh"] == 0o100755 and modes["pkg/__init__.py"] == 0o100644


@pytest.mark.slow
def test_a_function_too_big_for_a_zip_gets_an_image_definition_of_the_same_tree(tmp_path):
    # GIVEN the lifecycle function and a limit it cannot fit
    entry = package_function(FUNCTIONS["lifecycle"], tmp_path / "dist", tmp_path / "work", runs=1, limit=1024)
    # THEN an image context is written: the Dockerfile copies the measured tree onto the Lambda base image
    assert entry["kind"] == "image"
    context = tmp_path / "dist" / "lifecycle-image"
    dockerfile = (context / "Dockerfile").read_text()
    assert dockerfile.startswith(f"FROM {BASE_IMAGE}\n")
    assert "COPY task/ ${LAMBDA_TASK_ROOT}/" in dockerfile
    assert 'CMD ["functions.lifecycle.handler.handler"]' in dockerfile
    assert (context / "task" / "functions" / "lifecycle" / "handler.py").exists()
    assert (context / "task" / "pydantic_settings").is_dir()
    assert not (context / "task" / "ml").exists() and not (context / "task" / "streamloop" / "app").exists()
    # AND the cold start was measured from that tree, answering a real EventBridge scheduled event
    assert entry["cold_start"]["first_response_ms"] > 0


@pytest.mark.slow
def test_the_lifecycle_zip_builds_reproducibly_within_limits_and_answers_from_the_unpacked_artifact(tmp_path):
    function = FUNCTIONS["lifecycle"]
    first = write_zip(build_tree(function, tmp_path / "w1").path, tmp_path / "d1")
    second = write_zip(build_tree(function, tmp_path / "w2").path, tmp_path / "d2")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        unzipped = sum(i.file_size for i in archive.infolist())
    assert unzipped < 250 * 1024 * 1024
    assert "functions/lifecycle/handler.py" in names
    assert "functions/lifecycle/__pycache__/handler.cpython-311.pyc" in names  # compiled: /var/task is read-only
    assert not any(n.startswith(("ml/", "orchestration/", "dagster/", "streamloop/app/")) for n in names)
    cold = measure(unpack(first, tmp_path / "task"), "lifecycle", function.module, runs=1)
    assert cold.last_responses[0]["status"] in {"no_campaigns_configured", "ok"}
    assert cold.last_responses[0]["rule"] == "arn:aws:events:us-east-1:123456789012:rule/streamloop-dev-lifecycle"


@pytest.mark.slow
def test_the_api_zip_fits_lambda_and_serves_a_function_url_request_from_the_artifact_alone(tmp_path):
    entry = package_function(FUNCTIONS["api"], tmp_path / "dist", tmp_path / "work", runs=1)
    assert entry["kind"] == "zip"
    assert entry["unzipped_bytes"] < entry["unzipped_limit_bytes"] == 250 * 1024 * 1024
    assert FORBIDDEN.isdisjoint(entry["dependencies"])
    # home page and POST /v1/events (which lands a Parquet file through the packaged pyarrow) both answer 200
    assert entry["cold_start_responses"] == [200, 200]
    manifest_like = json.dumps(entry)
    assert "cold_start" in manifest_like
