"""The layer contract (pyproject.toml [tool.importlinter]) holds, and would fail on an upward import."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("streamloop", "ml", "messaging", "functions", "orchestration")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          check=False, cwd=root, capture_output=True, text=True, timeout=300)


def test_the_product_keeps_its_layers():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_an_upward_import_from_core_breaks_the_contract(tmp_path):
    # GIVEN a copy of the code in which core imports orchestration
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    settings = tmp_path / "streamloop" / "core" / "settings.py"
    settings.write_text(settings.read_text() + "\nimport orchestration.runs  # an upward import\n")
    # WHEN the contract is checked THEN it is broken, naming the import
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert "streamloop.core.settings -> orchestration.runs" in result.stdout
