"""`streamloop ui` and `streamloop serve` stop their whole process tree within seconds of SIGTERM (a
process manager) or Ctrl-C (SIGINT to the terminal's process group). Real subprocesses, real Dagster."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from streamloop.app.process_tree import descendants, run_supervised

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], home: Path) -> subprocess.Popen:
    env = {**os.environ, "STREAMLOOP_HOME": str(home), "STREAMLOOP_API_KEYS": "k",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    # its own process group, as a shell gives a foreground job: Ctrl-C is SIGINT to that group
    return subprocess.Popen([sys.executable, "-c", "from streamloop.cli import main; main()", *args], cwd=REPO,
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_http(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the command exited before it served"
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout_s:.0f} s")


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z":
            living.append(pid)
    return living


def stop_and_check(process: subprocess.Popen, how: str, within_s: float) -> None:
    tree = descendants(process.pid)
    started = time.monotonic()
    if how == "SIGTERM":
        process.send_signal(signal.SIGTERM)
    else:  # Ctrl-C at a terminal: SIGINT to the whole foreground process group
        os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=within_s + 30)
    took = time.monotonic() - started
    deadline = time.monotonic() + 1
    while alive(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive(tree) == [], f"still running after {how}: {alive(tree)}"
    assert took < within_s, f"took {took:.1f} s to stop after {how}"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="the process-tree walk reads /proc")
def test_a_supervised_tree_with_a_detached_grandchild_is_stopped():
    # GIVEN a child that starts a grandchild in its own session (as Dagster's code servers are) and ignores SIGTERM
    script = ("import subprocess, sys, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
              "subprocess.Popen([sys.executable, '-c', 'import time, signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
              "time.sleep(120)'], start_new_session=True); time.sleep(120)")
    supervisor = ("import sys; from streamloop.app.process_tree import run_supervised; "
                  f"print(run_supervised([sys.executable, '-c', {script!r}], {{}}, grace_s=1))")
    runner = subprocess.Popen([sys.executable, "-c", supervisor],
                              cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True,
                              stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while len(descendants(runner.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(descendants(runner.pid)) >= 2
    # WHEN the supervisor gets SIGTERM THEN both are gone within seconds, SIGKILL included
    stop_and_check(runner, "SIGTERM", within_s=10)
    assert runner.stdout.read().strip().endswith("'SIGTERM')")


def test_run_supervised_returns_the_childs_status():
    assert run_supervised([sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ)) == (3, None)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_serve_stops_within_seconds(tmp_path, how):
    port = free_port()
    process = start(["serve", "--port", str(port)], tmp_path / "home")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process, 60)
        stop_and_check(process, how, within_s=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_ui_stops_webserver_daemon_and_code_server_within_seconds(tmp_path, how):
    port = free_port()
    process = start(["ui", "--port", str(port)], tmp_path / "home")
    try:
        wait_http(f"http://127.0.0.1:{port}/server_info", process, 240)
        deadline = time.monotonic() + 60  # the daemon and code server start beside the webserver
        while len(descendants(process.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(descendants(process.pid)) >= 3
        stop_and_check(process, how, within_s=15)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
