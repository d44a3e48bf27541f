"""Fetches the Lambda platform's wheels for a pinned dependency set and installs them into a folder.

Wheels are for manylinux2014_x86_64 / CPython 3.11 (the python3.11 runtime runs on Amazon Linux 2,
glibc 2.26), binary only. A pin with no such wheel (pyarrow ≥ 21 ships manylinux_2_28 only) falls back
to the newest version that has one and still meets pyproject's bound; every fallback is reported.
"""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from deploy.dependencies import REPO_ROOT, Pin

PLATFORM_ARGS = ["--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp",
                 "--abi", "cp311", "--only-binary=:all:"]


def project_bounds() -> dict[str, str]:
    """pyproject's version specifiers by distribution name (the floor a fallback may not go below)."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    bounds = {}
    for text in project["dependencies"]:
        requirement = Requirement(text)
        bounds[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return bounds


def download(pins: list[Pin], wheel_dir: Path) -> dict[Pin, Path]:
    """Downloads one wheel per pin into the empty folder `wheel_dir` (pip's HTTP cache makes repeats cheap)."""
    wheel_dir.mkdir(parents=True, exist_ok=False)
    bounds = project_bounds()
    specs = [f"{pin.name}<={pin.version}" + (f",{bounds[pin.name]}" if bounds.get(pin.name) else "") for pin in pins]
    _pip("download", "--no-deps", *PLATFORM_ARGS, "-d", str(wheel_dir), *specs)
    by_name = {parse_wheel_filename(wheel.name)[0]: wheel for wheel in wheel_dir.glob("*.whl")}
    missing = sorted(pin.name for pin in pins if pin.name not in by_name)
    if missing:
        raise RuntimeError(f"no manylinux2014_x86_64 wheel downloaded for {', '.join(missing)}")
    return {pin: by_name[pin.name] for pin in pins}


def downloaded_version(wheel: Path) -> str:
    return str(parse_wheel_filename(wheel.name)[1])


def install(wheels: list[Path], target: Path) -> None:
    """Installs exactly these wheels (no resolver, no index, no bytecode: it is compiled reproducibly later)."""
    _pip("install", "--no-deps", "--no-index", "--no-compile", "--target", str(target), *PLATFORM_ARGS,
         *map(str, sorted(wheels)))


def _pip(*args: str) -> None:
    # pip's index warnings would drown the summary; they are shown only when pip fails
    completed = subprocess.run([sys.executable, "-m", "pip", *args[:1], "-q", *args[1:]], check=False,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"pip {args[0]} failed: {completed.stderr.strip()[-3000:]}")
