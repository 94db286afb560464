"""The window takes over from `aleph-ext serve`: a call in flight finishes with its result, the headless host
exits 0, the window serves, a `watch` client follows on its own; a second window or `serve` is refused."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from host_support import HostProcess, Lines, cli_env, host_status, wait_for
from node_support import needs_node
from plugin_files import approve

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = ["--no-builtin"]

WAITER_TOML = """[plugin]
id = "waiter"
name = "Waiter"
version = "1.0.0"
kind = "nodejs"
entry = "index.js"

[[tools]]
name = "wait_for_file"
description = "Answers once the file named by `path` exists."

[scope]
file_access = {{ mode = "read", paths = ["{folder}"] }}

[limits]
tool_timeout_ms = 120000
"""
WAITER_JS = """'use strict';
const fs = require('fs');
exports.register = (api) => {
  api.registerTool({ name: 'wait_for_file', execute: (args) => new Promise((resolve) => {
    const poll = setInterval(() => {
      if (fs.existsSync(args.path)) { clearInterval(poll); resolve({ released: args.path }); }
    }, 20);
  }) });
};
"""


def ext(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aleph_gui.cli", "--home", str(home), *OPTIONS, *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=cli_env(home))


def popen(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", *args[:1], "--home", str(home), *OPTIONS, *args[1:]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=cli_env(home))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    releases = tmp_path / "releases"
    releases.mkdir()
    waiter = home / "plugins" / "waiter"
    waiter.mkdir(parents=True)
    (waiter / "aleph.plugin.toml").write_text(WAITER_TOML.format(folder=releases))
    (waiter / "index.js").write_text(WAITER_JS)
    approve(home, shutil.copytree(ROOT / "plugins_demo" / "wasm-wat-text-tools", home / "plugins" / "wasm-wat-text-tools"))
    assert ext(home, "grant", "waiter").returncode == 0
    return home


@needs_node
def test_the_window_takes_over_from_serve(home: Path, tmp_path: Path) -> None:
    release = tmp_path / "releases" / "go"
    host = HostProcess(home, OPTIONS, ROOT)
    host.wait_until_serving()
    serve_err = Lines(host.proc.stderr)  # type: ignore[arg-type]
    watch = popen(home, "aleph_gui.cli", "watch", "--json")
    watched = Lines(watch.stdout)  # type: ignore[arg-type]
    watched.wait_for('"type": "Ready"')
    slow = popen(home, "aleph_gui.cli", "call", "waiter", "wait_for_file", "--input",
                 json.dumps({"path": str(release)}))
    windows: list[subprocess.Popen[str]] = []
    try:
        wait_for(lambda: (host_status(home) or {}).get("in_flight") == 1, what="the slow call to be in flight")
        window = popen(home, "aleph_gui.app")
        windows.append(window)
        serve_err.wait_for(f"handing over to the window (pid {window.pid}): 1 call(s) in flight will finish first")
        assert slow.poll() is None and host.proc.poll() is None  # the call holds the old host open
        release.write_text("go")
        out, err = slow.communicate(timeout=60)
        assert slow.returncode == 0, err
        assert json.loads(out) == {"released": str(release)}  # the call in flight finished with its result
        assert host.proc.wait(timeout=60) == 0  # the headless host exits 0 once it is done
        status = wait_for(lambda: (s := host_status(home)) and s["kind"] == "window" and s,
                          what="the window to serve")
        assert status["pid"] == window.pid

        # `watch` followed on its own: a call from another terminal shows up in it
        assert ext(home, "fire", "message_received", "--payload", '{"text": "after the hand-over"}').returncode == 0
        traced = json.loads(watched.wait_for('"message_received"'))
        assert (traced["event"], traced["client"]) == ("message_received", "cli")

        # no second host: a second window says so and exits 1; serve exits 1 naming the window
        second = popen(home, "aleph_gui.app")
        windows.append(second)
        Lines(second.stderr).wait_for(f"is already hosted by the window (pid {window.pid})")  # type: ignore[arg-type]
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 1
        refused = ext(home, "serve")
        assert refused.returncode == 1
        assert refused.stderr.strip().endswith(f"is already hosted by the window (pid {window.pid})")
        assert host_status(home)["pid"] == window.pid  # type: ignore[index]

        window.send_signal(signal.SIGTERM)  # closes cleanly
        assert window.wait(timeout=60) == 0
        assert not (home / "host.json").exists() and not (home / "host.sock").exists()
        assert watch.wait(timeout=60) == 1  # no host took over: watch says so and stops
        assert "no host took over" in watch.stderr.read()  # type: ignore[union-attr]
    finally:
        for proc in (slow, watch, *windows):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        host.kill()


@needs_node
def test_serve_finishes_calls_in_flight_on_a_signal_and_cancels_them_on_a_second(home: Path, tmp_path: Path) -> None:
    release = tmp_path / "releases" / "never"
    host = HostProcess(home, OPTIONS, ROOT)
    host.wait_until_serving()
    serve_err = Lines(host.proc.stderr)  # type: ignore[arg-type]
    slow = popen(home, "aleph_gui.cli", "call", "waiter", "wait_for_file", "--input",
                 json.dumps({"path": str(release)}))
    try:
        wait_for(lambda: (host_status(home) or {}).get("in_flight") == 1, what="the slow call to be in flight")
        host.proc.send_signal(signal.SIGTERM)
        serve_err.wait_for("stopping: 1 call(s) in flight will finish first")
        assert host.proc.poll() is None and slow.poll() is None  # it waits for the call
        host.proc.send_signal(signal.SIGTERM)
        serve_err.wait_for("stopping now: cancelling the calls still in flight")
        out, err = slow.communicate(timeout=60)
        assert slow.returncode == 1
        assert json.loads(out) == {"error": "the host stopped before 'call' finished"}
        assert host.proc.wait(timeout=60) == 0
        assert not (home / "host.json").exists() and not (home / "host.sock").exists()
    finally:
        if slow.poll() is None:
            slow.kill()
            slow.wait()
        host.kill()
