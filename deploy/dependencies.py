"""Which third-party distributions a Lambda handler needs, pinned to the versions this checkout runs with.

The entry module's imports are followed through our own packages (grimp, as import-linter does) to the
third-party top-level modules they reach; those map to distributions, whose requirements are expanded
transitively with their environment markers evaluated for the Lambda runtime. Pinning to the installed
versions makes the artifact the code that the test suite ran against, byte for byte reproducible.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import grimp
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]
OUR_PACKAGES = ("functions", "messaging", "streamloop")
# the Lambda python3.11 runtime on x86_64 Amazon Linux: what environment markers are evaluated against
LAMBDA_MARKERS = {**default_environment(), "sys_platform": "linux", "platform_system": "Linux",
                  "platform_machine": "x86_64", "implementation_name": "cpython",
                  "platform_python_implementation": "CPython", "python_version": "3.11", "python_full_version": "3.11.0"}


@dataclass(frozen=True)
class Pin:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def entry_imports(handler_file: Path) -> set[str]:
    """Modules a handler file imports (handler folders are namespace folders grimp does not index)."""
    tree = ast.parse(handler_file.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def third_party_modules(handler_file: Path) -> set[str]:
    """Top-level third-party modules reachable from the handler through our packages."""
    graph = grimp.build_graph(*OUR_PACKAGES, include_external_packages=True)
    reached: set[str] = set()
    todo, seen = sorted(entry_imports(handler_file)), set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        top = module.split(".")[0]
        if top not in OUR_PACKAGES:
            reached.add(top)
        elif module in graph.modules:
            reached |= {m for m in graph.find_upstream_modules(module) | {module} if "." not in m}
        else:  # a module in a namespace folder (functions/lifecycle/): follow its own imports
            todo += sorted(entry_imports(REPO_ROOT / (module.replace(".", "/") + ".py")))
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    return {m for m in reached if m not in stdlib and m not in OUR_PACKAGES}


def distributions_for(modules: set[str]) -> set[str]:
    owners = metadata.packages_distributions()
    missing = sorted(m for m in modules if m not in owners)
    if missing:
        raise LookupError(f"no installed distribution provides {', '.join(missing)}")
    return {canonicalize_name(owners[m][0]) for m in modules}


def pinned_closure(roots: set[str], exclude: set[str] = frozenset()) -> list[Pin]:
    """`roots` and everything they require (markers evaluated for Lambda), at the installed versions."""
    pins: dict[str, Pin] = {}
    todo = sorted(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in pins or name in exclude:
            continue
        dist = metadata.distribution(name)
        pins[name] = Pin(name, dist.version)
        for text in dist.requires or []:
            requirement = Requirement(text)
            # requirements behind an extra are not wanted: we install no extras
            if requirement.marker is None or requirement.marker.evaluate({**LAMBDA_MARKERS, "extra": ""}):
                todo.append(requirement.name)
    return sorted(pins.values(), key=lambda pin: pin.name)


def handler_requirements(handler_file: Path, exclude: set[str] = frozenset()) -> list[Pin]:
    return pinned_closure(distributions_for(third_party_modules(handler_file)), exclude)
