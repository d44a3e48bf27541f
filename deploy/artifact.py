"""Builds one Lambda function's file tree and packs it reproducibly.

The tree is what /var/task holds: our code (functions, messaging, streamloop.core — never ml, dagster
or dbt: the layer contract keeps them out of `functions`), the repository files the code reads at
runtime (experiments/, campaigns/), the platform wheels of its pinned dependencies, and bytecode
compiled with unchecked hashes (a read-only /var/task cannot cache .pyc, and hash-based .pyc carry no
timestamps). The zip has sorted entries, fixed times and modes, so the same inputs give the same bytes.
"""
from __future__ import annotations

import compileall
import hashlib
import py_compile
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from deploy.dependencies import REPO_ROOT, Pin, handler_requirements
from deploy.wheels import download, downloaded_version, install

UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024  # Lambda: deployment package (code + layers) unzipped
IMAGE_LIMIT_BYTES = 10 * 1024 * 1024 * 1024  # Lambda: container image, uncompressed
TASK_ROOT = "/var/task"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold

# our code in every function; the rest of streamloop (app, cli) drives Dagster and dbt
# (and the messaging mart's YAML contract: the audience columns a campaign may name, messaging/audience.py)
SOURCES = ("functions", "messaging", "streamloop/__init__.py", "streamloop/core", "experiments", "campaigns",
           "dbt_project/models/marts/messaging/messaging_profiles.yml")
# never needed at runtime, large, or not reproducible (console scripts name the build machine's python)
TRIM_DIRS = {"__pycache__", "tests", "test", "include", "bin"}
TRIM_SUFFIXES = (".pyc", ".pyx", ".pxd", ".pxi", ".h", ".hpp", ".cc", ".c", ".a")
TRIM_FILES = {"direct_url.json", "REQUESTED", "INSTALLER"}
# optional native parts of dependencies nothing of ours imports: pyarrow.flight (~22 MB) is loaded only by
# `import pyarrow.flight` (substrait is not optional: pyarrow.lib links it); the cold-start run proves the rest works
TRIM_GLOBS = ("pyarrow/libarrow_flight.so*", "pyarrow/_flight*.so", "pyarrow/flight.py")


@dataclass(frozen=True)
class Function:
    name: str
    handler_file: str  # relative to the repository root
    handler: str       # Lambda's handler setting

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]


FUNCTIONS = {
    "api": Function("api", "functions/api/handler.py", "functions.api.handler.handler"),
    "lifecycle": Function("lifecycle", "functions/lifecycle/handler.py", "functions.lifecycle.handler.handler"),
}


@dataclass
class Tree:
    function: Function
    path: Path
    pins: list[Pin]
    installed: dict[str, str]  # distribution -> version in the tree

    @property
    def fallbacks(self) -> dict[str, str]:
        """Distributions whose pinned version has no platform wheel: pinned -> installed."""
        return {pin.name: f"{pin.version} -> {self.installed[pin.name]}" for pin in self.pins
                if self.installed[pin.name] != pin.version}

    def unzipped_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())


def build_tree(function: Function, work_dir: Path) -> Tree:
    tree = work_dir / function.name
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    for source in SOURCES:
        origin = REPO_ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, tree / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif origin.is_file():
            (tree / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, tree / source)
    pins = handler_requirements(REPO_ROOT / function.handler_file)
    wheel_dir = work_dir / f"{function.name}-wheels"
    if wheel_dir.exists():
        shutil.rmtree(wheel_dir)
    wheels = download(pins, wheel_dir)
    install(list(wheels.values()), tree)
    trim(tree)
    compile_bytecode(tree)
    return Tree(function, tree, pins, {pin.name: downloaded_version(wheel) for pin, wheel in wheels.items()})


def trim(tree: Path) -> None:
    for path in sorted(tree.rglob("*"), reverse=True):  # children before parents
        if not path.exists():
            continue
        relative = path.relative_to(tree)
        in_dist_info = any(part.endswith(".dist-info") for part in relative.parts)
        if path.is_dir() and path.name in TRIM_DIRS and not in_dist_info:
            shutil.rmtree(path)
        elif path.is_file() and (path.name in TRIM_FILES or path.suffix in TRIM_SUFFIXES):
            path.unlink()
    for pattern in TRIM_GLOBS:
        for path in tree.glob(pattern):
            path.unlink()
    for record in tree.glob("*.dist-info/RECORD"):
        # RECORD lists what pip installed; keep it true after trimming (importlib.metadata reads it)
        kept = [line for line in record.read_text().splitlines()
                if line and (tree / line.split(",", 1)[0]).resolve().is_relative_to(tree)
                and (tree / line.split(",", 1)[0]).exists()]
        record.write_text("\n".join(sorted(kept)) + "\n")


def compile_bytecode(tree: Path) -> None:
    ok = compileall.compile_dir(tree, quiet=2, stripdir=str(tree), prependdir=TASK_ROOT, workers=1,
                                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        raise RuntimeError(f"some Python files in {tree} do not compile")


def write_zip(tree: Path, destination: Path) -> Path:
    """A deterministic zip of `tree`, named after its content hash (api-<sha256[:16]>.zip)."""
    destination.mkdir(parents=True, exist_ok=True)
    partial = destination / f"{tree.name}.zip.partial"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        # sorted by the names the zip stores (Path ordering differs: 'pkg/' < 'pkg-' as paths, not as names)
        for name, path in sorted((p.relative_to(tree).as_posix(), p) for p in tree.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.create_system = 3  # unix, so the modes below are honoured
            info.external_attr = (0o100755 if path.stat().st_mode & 0o111 else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    digest = sha256(partial)
    final = destination / f"{tree.name}-{digest[:16]}.zip"
    partial.replace(final)
    return final


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
