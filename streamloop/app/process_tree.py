"""Runs a long-lived child command so that stopping us stops its whole process tree, within seconds.

`dagster dev` starts a webserver, a daemon and a code server; each of those starts more. Signalling
only `dagster dev` (or our process group) is not enough: grandchildren in their own sessions outlive
it, and once their parent exits they are re-parented to init, out of anyone's reach. So:
- we register as the *child subreaper* (Linux prctl): orphans of our tree are re-parented to us, and
  stay findable as our descendants;
- the child runs in its own session, so a terminal's Ctrl-C reaches only us and we decide the order;
- on SIGTERM or SIGINT we ask the child to stop (SIGTERM), give it `grace_s` to stop its own children,
  then SIGTERM and finally SIGKILL every process still below us.
Without /proc (not Linux) the descendant walk finds nothing and only the child's process group is
signalled.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, parents before children (from /proc; [] elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo += children.get(child, [])
    return found


def _signal_all(pids: Sequence[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _reap() -> None:
    """Collects exit statuses of orphans re-parented to us, so none lingers as a zombie."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_tree(process: subprocess.Popen, grace_s: float, kill_after_s: float = 3.0,
              spared: frozenset[int] = frozenset()) -> None:
    """Asks `process` to stop, then makes sure nothing it started survives (`spared`: processes below us
    that existed before it started, which are not ours to stop)."""

    def tree() -> list[int]:
        return [pid for pid in descendants(os.getpid()) if pid not in spared]

    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and (process.poll() is None or tree()):
        _reap()
        time.sleep(0.1)
    for signum, wait_s in ((signal.SIGTERM, kill_after_s), (signal.SIGKILL, kill_after_s)):
        left = tree()
        if not left:
            break
        _signal_all(left, signum)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and tree():
            _reap()
            time.sleep(0.05)
    process.poll()
    _reap()


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT while supervising."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run_supervised(command: Sequence[str], env: dict[str, str], grace_s: float = 5.0) -> tuple[int, str | None]:
    """Runs `command` until it exits or we are told to stop; returns (exit status, signal name or None)."""
    become_subreaper()
    spared = frozenset(descendants(os.getpid()))
    process = subprocess.Popen(list(command), env=env, start_new_session=True)

    def on_signal(signum, _frame):
        raise Stop(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return process.wait(), None
    except Stop as stop:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_tree(process, grace_s, spared=spared)
        return process.returncode if process.returncode is not None else -stop.signum, str(stop)
    finally:
        if process.poll() is not None:
            stop_tree(process, 0.0, spared=spared)  # the child ended on its own: its orphans must not outlive us
        for signum, handler in previous.items():
            signal.signal(signum, handler)
