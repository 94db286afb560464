"""`aleph-ext serve` and `aleph-ext host status` as real processes: stale files after `kill -9`, clean stops,
one host per home, services that outlive the command that started them, and traces that name the CLI."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
from host_support import HostProcess, cli_env, host_status, wait_for
from node_support import needs_node
from plugin_files import approve

from aleph_gui.host.client import HostClient

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "plugins_demo"
OPTIONS = ["--no-builtin"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    approve(home, shutil.copytree(DEMOS / "wasm-wat-text-tools", home / "plugins" / "wasm-wat-text-tools"))
    return home


def ext(home: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aleph_gui.cli", "--home", str(home), *OPTIONS, *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd, env=cli_env(home))


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def test_a_host_killed_with_sigkill_never_blocks_the_next_one(home: Path) -> None:
    host = HostProcess(home, OPTIONS, ROOT)
    host.wait_until_serving()
    host.proc.kill()  # kill -9: no cleanup at all
    host.proc.communicate()
    assert (home / "host.sock").exists() and (home / "host.json").exists() and (home / "host.lock").exists()
    none = ext(home, "host", "status")
    assert none.returncode == 1 and "no host runs for" in none.stderr
    assert json.loads(ext(home, "call", "wasm-wat-text-tools", "uppercase", "--input", '{"text": "alone"}').stdout) \
        == {"text": "ALONE"}  # no host: in-process, as before
    nxt = HostProcess(home, OPTIONS, ROOT)
    try:
        status = nxt.wait_until_serving()
        assert status["pid"] == nxt.pid and status["kind"] == "headless"
        assert json.loads(ext(home, "host", "status", "--json").stdout)["pid"] == nxt.pid
        assert json.loads(ext(home, "call", "wasm-wat-text-tools", "uppercase",
                              "--input", '{"text": "routed"}').stdout) == {"text": "ROUTED"}
        assert host_status(home)["served"] >= 1  # type: ignore[index]
    finally:
        code, err = nxt.stop()
    assert code == 0, err


@needs_node
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_stops_cleanly_on_a_signal(home: Path, sig: int) -> None:
    shutil.copytree(DEMOS / "node-jsonrpc-server", home / "plugins" / "node-jsonrpc-server")
    assert ext(home, "grant", "node-jsonrpc-server").returncode == 0  # a Node.js plugin runs once approved
    host = HostProcess(home, OPTIONS, ROOT)
    try:
        host.wait_until_serving()
        called = ext(home, "call", "node-jsonrpc-server", "text_stats", "--input", '{"text": "a b c"}')
        assert called.returncode == 0, called.stderr
        plugin_processes = descendants(host.pid)
        assert any("node" in " ".join(p.cmdline()) for p in plugin_processes)
    except BaseException:
        host.stop()  # a failed test must not leave a host running
        raise
    code, err = host.stop(sig)
    assert code == 0, err
    assert "Traceback" not in err
    assert not (home / "host.json").exists() and not (home / "host.sock").exists()
    gone, alive = psutil.wait_procs(plugin_processes, timeout=30)
    assert alive == []
    assert ext(home, "host", "status").returncode == 1


def test_one_host_per_home_and_host_status_says_who(home: Path) -> None:
    none = ext(home, "host", "status")
    assert none.returncode == 1
    assert none.stderr.strip() == (f"aleph-ext: no host runs for {home.resolve()} "
                                   "(start one with aleph-ext serve, or open aleph-gui)")
    assert json.loads(ext(home, "host", "status", "--json").stdout) == {"error": none.stderr.strip()[11:]}
    host = HostProcess(home, OPTIONS, ROOT)
    try:
        host.wait_until_serving()
        second = ext(home, "serve")
        assert second.returncode == 1
        assert second.stderr.strip() == (f"aleph-ext serve: {home.resolve()} is already hosted by the headless "
                                         f"(pid {host.pid})")
        status = ext(home, "host", "status")
        assert status.returncode == 0
        assert f"is hosted by the headless (pid {host.pid}) since" in status.stdout
        assert f"socket:  {home.resolve() / 'host.sock'}" in status.stdout and "http:    off" in status.stdout
        doc = json.loads(ext(home, "host", "status", "--json").stdout)
        assert (doc["pid"], doc["kind"], doc["socket"], doc["http"]) == (
            host.pid, "headless", str(home.resolve() / "host.sock"), None)
        assert doc["clients"] == [] and doc["started"] > 0
    finally:
        code, err = host.stop()
    assert code == 0, err


def test_a_fire_from_the_cli_reaches_a_subscriber_as_a_trace_from_cli(home: Path) -> None:
    import asyncio

    host = HostProcess(home, OPTIONS, ROOT)
    host.wait_until_serving()
    traces: list[dict[str, Any]] = []

    async def subscribe_and_fire() -> None:
        got = asyncio.Event()
        client = HostClient(home, "test-subscriber")
        await client.connect()

        def on_event(doc: dict[str, Any]) -> None:
            if doc["type"] == "HookTraced":
                traces.append(doc)
                got.set()

        await client.subscribe(on_event)
        fired = await asyncio.to_thread(ext, home, "fire", "message_received", "--payload", '{"text": "hello"}')
        assert fired.returncode == 0, fired.stderr
        await asyncio.wait_for(got.wait(), 30)
        await client.close()

    try:
        asyncio.run(subscribe_and_fire())
    finally:
        code, err = host.stop()
    assert code == 0, err
    assert traces[0]["id"] == "wasm-wat-text-tools" and traces[0]["event"] == "message_received"
    assert traces[0]["client"] == "cli"


@needs_node
def test_a_service_started_from_the_cli_keeps_running_in_the_host(home: Path) -> None:
    shutil.copytree(DEMOS / "node-jsonrpc-server", home / "plugins" / "node-jsonrpc-server")
    assert ext(home, "grant", "node-jsonrpc-server").returncode == 0  # a Node.js plugin runs once approved
    host = HostProcess(home, OPTIONS, ROOT)
    try:
        host.wait_until_serving()
        started = ext(home, "service", "start", "node-jsonrpc-server", "heartbeat")
        assert started.returncode == 0, started.stderr
        assert started.stderr.strip() == "service heartbeat of node-jsonrpc-server: running"
        # the command has exited; the service runs on in the host
        listed = ext(home, "service", "status")
        assert listed.returncode == 0
        assert listed.stdout.split("\n")[1].split() == ["node-jsonrpc-server", "heartbeat", "running"]
        one = json.loads(ext(home, "service", "status", "node-jsonrpc-server", "--json").stdout)
        assert one == [{"plugin": "node-jsonrpc-server", "name": "heartbeat", "state": "running"}]
        pid = json.loads(ext(home, "show", "node-jsonrpc-server", "--json").stdout)["runtime"]["pid"]
        assert psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        ticking = wait_for(lambda: json.loads(ext(home, "call", "node-jsonrpc-server", "ticks").stdout)["ticks"] > 0
                           and json.loads(ext(home, "call", "node-jsonrpc-server", "ticks").stdout),
                           what="the heartbeat to tick")
        assert ticking["running"] is True
        stopped = ext(home, "service", "stop", "node-jsonrpc-server", "heartbeat")
        assert stopped.stderr.strip() == "service heartbeat of node-jsonrpc-server: stopped"
    finally:
        code, err = host.stop()
    assert code == 0, err


def test_service_status_with_no_host_lists_declared_services_as_stopped(home: Path) -> None:
    shutil.copytree(DEMOS / "node-jsonrpc-server", home / "plugins" / "node-jsonrpc-server")
    listed = json.loads(ext(home, "service", "status", "--json").stdout)
    assert listed == [{"plugin": "node-jsonrpc-server", "name": "heartbeat", "state": "stopped"}]
    missing = ext(home, "service", "status", "ghost")
    assert missing.returncode == 1 and "unknown plugin 'ghost'" in missing.stderr
    usage = ext(home, "service", "start", "node-jsonrpc-server")
    assert usage.returncode == 2 and "needs ID and NAME" in usage.stderr


def test_a_routed_call_does_not_load_the_core(home: Path) -> None:
    """`aleph-ext call` through a running host starts without pydantic, Extism, asyncio or the manager."""
    host = HostProcess(home, OPTIONS, ROOT)
    try:
        host.wait_until_serving()
        script = (
            "import sys, io, contextlib\n"
            "from aleph_gui.cli import main\n"
            f"args = ['--home', {str(home)!r}, '--no-builtin', 'call', 'wasm-wat-text-tools', 'uppercase',\n"
            "        '--input', '{\"text\": \"light\"}']\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    code = main(args)\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules\n"
            "                if m.split('.')[0] in ('pydantic', 'extism', 'asyncio', 'jsonschema', 'PySide6')\n"
            "                or m.startswith('aleph_gui.core')})\n"
            "print(code, out.getvalue().strip().replace(chr(10), ''), heavy)\n"
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT,
                              env=cli_env(home))
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == '0 {  "text": "LIGHT"} []'
    finally:
        code, err = host.stop()
    assert code == 0, err


def test_a_command_for_another_view_runs_on_its_own(home: Path, tmp_path: Path) -> None:
    """A host that does not see what the command asks for (here: other project plugins) does not answer it."""
    project = tmp_path / "project"
    shutil.copytree(DEMOS / "wasm-wat-text-tools", project / ".aleph" / "plugins" / "wasm-wat-text-tools")
    host = HostProcess(home, OPTIONS, ROOT)
    try:
        host.wait_until_serving()
        before = host_status(home)["served"]  # type: ignore[index]
        listed = json.loads(ext(home, "--project", str(project), "list", "--json").stdout)
        # (the project folder is not trusted: its plugin waits, and overrides the user's copy all the same)
        assert {(p["origin"], p["state"]) for p in listed} == {("project", "needs_review"), ("user", "overridden")}
        assert host_status(home)["served"] == before  # type: ignore[index]
        ext(home, "list", "--json")  # the host's own view (cwd ROOT has no .aleph folder)
        assert host_status(home)["served"] == before + 1  # type: ignore[index]
    finally:
        code, err = host.stop()
    assert code == 0, err


def test_host_json_naming_a_reused_pid_is_not_a_host(home: Path) -> None:
    """A killed host's host.json may name a pid the system gave to another process since: not a host."""
    import time

    from aleph_gui.host.info import HostInfo, write_host_info

    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        write_host_info(home, HostInfo(pid=other.pid, kind="headless", socket=str(home / "host.sock"), http=None,
                                       token="t" * 43, started=time.time() - 3600))
        none = ext(home, "host", "status")
        assert none.returncode == 1 and "no host runs for" in none.stderr
        called = ext(home, "call", "wasm-wat-text-tools", "uppercase", "--input", '{"text": "on my own"}')
        assert called.returncode == 0 and json.loads(called.stdout) == {"text": "ON MY OWN"}
    finally:
        other.communicate(b"")
