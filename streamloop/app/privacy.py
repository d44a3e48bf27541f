"""`streamloop privacy forget`: erase a person from every store this installation uses.

Stores above core register their erasers on import (the model registry's per-person candidate lists;
messaging's stores when that package provides them), so this driver imports them before running.
"""
from __future__ import annotations

import importlib

from streamloop.core.errors import StreamloopError
from streamloop.core.privacy.forget import ForgetReport, forget
from streamloop.core.privacy.subjects import Subject
from streamloop.core.settings import get_settings

# modules that register erasers for their stores (a missing optional one is skipped)
ERASER_MODULES = ("ml.privacy", "messaging.privacy")


def load_erasers() -> None:
    for name in ERASER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def run_forget(profile_id: str | None, account_id: str | None) -> ForgetReport:
    if bool(profile_id) == bool(account_id):
        raise StreamloopError("give exactly one of --profile or --account")
    subject = Subject("profile", profile_id) if profile_id else Subject("account", account_id)
    load_erasers()
    report = forget(subject, get_settings())
    if not report.complete:
        raise StreamloopError(f"deletion {report.deletion_id} incomplete: {report.problems()}")
    return report


def render(report: ForgetReport) -> str:
    lines = [f"forgot {report.subject_kind} ({report.profiles} profile(s)) in {report.seconds:.2f}s, "
             + f"deletion {report.deletion_id}"]
    lines += [f"  {store:<16} {rows:>10,} rows removed" for store, rows in report.stores.items()]
    lines.append(f"  suppressed ids   {report.suppressed_ids:>10,} (late events are dropped at the edge)")
    lines.append(f"  backups keep deleted data up to {report.backups_retained_days} days")
    return "\n".join(lines)
