"""Runs checkov over terraform/ from its own virtualenv.

checkov pins boto3, packaging and networkx to versions that conflict with the product's (it would
downgrade boto3 under moto and the Lambda code), so it lives in a separate virtualenv created on first
use under STREAMLOOP_TOOLS_CACHE (default ~/.cache/streamloop) and reused afterwards.

    python -m deploy.checkov        # prints the summary and every failure, exits 1 on a failure
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

from deploy.terraform_graph import TERRAFORM_DIR

CHECKOV_VERSION = "3.3.30"
_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def tools_dir() -> Path:
    return Path(os.environ.get("STREAMLOOP_TOOLS_CACHE", Path.home() / ".cache" / "streamloop")).expanduser()


def checkov_bin() -> Path:
    """The checkov executable, installing it into its own virtualenv the first time."""
    env_dir = tools_dir() / f"checkov-{CHECKOV_VERSION}"
    binary = env_dir / "bin" / "checkov"
    if not binary.exists():
        venv.create(env_dir, with_pip=True, clear=True)
        subprocess.run([str(env_dir / "bin" / "pip"), "install", "-q", f"checkov=={CHECKOV_VERSION}"], check=True)
    return binary


@dataclass
class CheckovReport:
    passed: int
    failed: list[dict]
    skipped: list[dict]
    parsing_errors: int


def run_checkov(directory: Path = TERRAFORM_DIR) -> CheckovReport:
    # --skip-download: no guideline fetch from the vendor's API (offline, and no data leaves the machine)
    completed = subprocess.run(
        [str(checkov_bin()), "-d", str(directory), "--framework", "terraform", "--skip-download", "-o", "json"],
        check=False, capture_output=True, text=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    if completed.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {completed.returncode}: {completed.stderr[-2000:]}")
    report = json.loads(completed.stdout)
    report = report[0] if isinstance(report, list) else report
    results, summary = report["results"], report["summary"]
    return CheckovReport(summary["passed"], results.get("failed_checks", []), results.get("skipped_checks", []),
                         summary["parsing_errors"])


def unjustified_skips(directory: Path = TERRAFORM_DIR) -> list[str]:
    """`#checkov:skip=ID` comments without a reason of a few words."""
    found = []
    for tf in sorted(directory.rglob("*.tf")):
        for number, line in enumerate(tf.read_text().splitlines(), 1):
            match = _SKIP.search(line)
            if match and len((match.group(2) or "").split()) < 5:
                found.append(f"{tf.relative_to(directory)}:{number}: {match.group(1)} skipped without a reason")
    return found


def main() -> int:
    report = run_checkov()
    for check in report.failed:
        print(f"FAILED {check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}")
    for problem in unjustified_skips():
        print(problem)
    print(f"checkov {CHECKOV_VERSION}: {report.passed} passed, {len(report.failed)} failed, "
          f"{len(report.skipped)} skipped (justified in code), {report.parsing_errors} parsing errors")
    return 1 if report.failed or report.parsing_errors or unjustified_skips() else 0


if __name__ == "__main__":
    sys.exit(main())
