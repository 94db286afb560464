"""Sandbox lifetimes. The persistent sandbox that command hooks run in: commands behave like
ordinary subprocesses, timeouts kill whole process groups. Both it and a fresh sandbox per process
leave nothing running when closed or when the app dies (psutil checks)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
from sandbox_support import (
    Layout,
    alive,
    descendants,
    make_layout,
    needs_sandbox,
    needs_system_python,
    wait_until,
)

from aleph_gui.core.sandbox import PersistentSandbox, SandboxedProcess, SandboxError, SandboxStatus
from aleph_gui.core.sandbox.interpreter import helper_python

pytestmark = needs_sandbox


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    return make_layout(tmp_path, monkeypatch)


@pytest.fixture
async def sandbox(layout: Layout) -> AsyncIterator[PersistentSandbox]:
    box = await PersistentSandbox.start(layout.policy(), log=layout.logs.append)
    yield box
    await box.close()


async def test_a_command_gets_its_input_and_reports_output_and_exit_code(sandbox: PersistentSandbox) -> None:
    proc = await sandbox.spawn(["sh", "-c", "cat; echo problem >&2; exit 3"])
    out, err = await proc.communicate(b'{"event": "PreToolUse"}')
    assert (out, err, proc.returncode) == (b'{"event": "PreToolUse"}', b"problem\n", 3)
    assert proc.pid is not None


async def test_a_missing_command_fails_like_in_a_shell(sandbox: PersistentSandbox) -> None:
    proc = await sandbox.spawn(["no-such-command-here"])
    out, err = await proc.communicate()
    assert proc.returncode == 127
    assert err.decode() == "cannot run no-such-command-here: No such file or directory\n"


async def test_cwd_and_env_are_exactly_what_was_given(sandbox: PersistentSandbox, layout: Layout,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_fake")
    proc = await sandbox.spawn(["sh", "-c", "pwd; env | sort"], env={"PATH": "/usr/bin:/bin", "ONE": "1"})
    out, _ = await proc.communicate()
    lines = out.decode().splitlines()
    assert lines[0] == str(layout.plugin)  # the plugin folder by default
    assert "ONE=1" in lines and not any("GITHUB_TOKEN" in line for line in lines)
    proc = await sandbox.spawn(["pwd"], cwd=str(layout.workspace))
    assert (await proc.communicate())[0].decode().strip() == str(layout.workspace)


async def test_streams_can_be_devnull_or_our_own_file(sandbox: PersistentSandbox, tmp_path: Path) -> None:
    target = tmp_path / "captured.txt"
    with target.open("wb") as sink:
        proc = await sandbox.spawn(["sh", "-c", "echo to-file"], stdin=asyncio.subprocess.DEVNULL,
                                   stdout=sink.fileno(), stderr=asyncio.subprocess.DEVNULL)
        assert proc.stdin is None and proc.stdout is None and proc.stderr is None
        assert await proc.wait() == 0
    assert target.read_text() == "to-file\n"


async def test_a_sandbox_that_cannot_start_says_so(layout: Layout) -> None:
    broken = SandboxStatus(True, bwrap="/bin/false", version="0")  # exits at once, prints nothing
    with pytest.raises(SandboxError, match="the sandbox did not start"):
        await PersistentSandbox.start(layout.policy(), status=broken)


async def test_large_input_and_output_stream_through(sandbox: PersistentSandbox) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    proc = await sandbox.spawn(["cat"])
    out, _ = await asyncio.wait_for(proc.communicate(payload), 60)
    assert out == payload and proc.returncode == 0


async def test_an_oversized_command_line_is_refused_with_a_sentence(sandbox: PersistentSandbox) -> None:
    with pytest.raises(SandboxError, match="too large"):
        await sandbox.spawn(["echo", "x" * 200_000])
    proc = await sandbox.spawn(["echo", "still fine"])  # the sandbox is unharmed
    assert (await proc.communicate())[0] == b"still fine\n"


async def test_many_commands_at_once_each_get_their_own_answer(sandbox: PersistentSandbox) -> None:
    async def one(i: int) -> tuple[bytes, int]:
        proc = await sandbox.spawn(["sh", "-c", f"cat; exit {i % 4}"])
        out, _ = await proc.communicate(f"payload-{i}".encode())
        return out, proc.returncode or 0

    results = await asyncio.gather(*(one(i) for i in range(24)))
    assert results == [(f"payload-{i}".encode(), i % 4) for i in range(24)]


async def test_kill_ends_the_whole_process_group(sandbox: PersistentSandbox) -> None:
    bwrap = sandbox.pid
    assert bwrap is not None
    proc = await sandbox.spawn(["sh", "-c", "sleep 300 & sleep 300 & echo started; wait"])
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"started\n"

    def sleepers() -> list[int]:
        found = []
        for pid in descendants(bwrap):
            with contextlib.suppress(psutil.NoSuchProcess):
                if psutil.Process(pid).name() == "sleep":
                    found.append(pid)
        return found

    await wait_until(lambda: len(sleepers()) == 2)  # forked children may not have exec'd yet
    started = sleepers()
    proc.kill()
    assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
    await wait_until(lambda: not any(alive(p) for p in started))


async def test_a_plugin_killing_the_supervisor_only_ends_its_own_sandbox(sandbox: PersistentSandbox,
                                                                          layout: Layout) -> None:
    long = await sandbox.spawn(["sleep", "300"])
    killer = await sandbox.spawn(["sh", "-c", "kill -9 $PPID"])
    assert await asyncio.wait_for(killer.wait(), 10) == -signal.SIGKILL
    assert await asyncio.wait_for(long.wait(), 10) == -signal.SIGKILL  # it went with its sandbox
    again = await sandbox.spawn(["echo", "back"])  # a new sandbox starts on demand
    assert (await again.communicate())[0] == b"back\n"
    assert any("starting a new one" in line for line in layout.logs)


async def test_close_leaves_no_process_behind(layout: Layout) -> None:
    sandbox = await PersistentSandbox.start(layout.policy())
    assert sandbox.pid is not None
    proc = await sandbox.spawn(["sh", "-c", "sleep 300 & echo up; sleep 300"])
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"up\n"
    tree = [sandbox.pid, *descendants(sandbox.pid)]
    assert len(tree) >= 4  # bwrap, its init, the supervisor, sh, the sleeps
    await sandbox.close()
    assert await proc.wait() == -signal.SIGKILL
    await wait_until(lambda: not any(alive(p) for p in tree))
    with pytest.raises(SandboxError, match="closed"):
        await sandbox.spawn(["true"])


HOST_APP = """
import asyncio, json, sys
import psutil
from aleph_gui.core.sandbox import PersistentSandbox, SandboxPolicy

async def main():
    sandbox = await PersistentSandbox.start(SandboxPolicy.build("orphan-test", sys.argv[1]))
    proc = await sandbox.spawn(["sh", "-c", "sleep 300 & echo up; sleep 300"])
    await proc.stdout.readline()
    tree = [sandbox.pid] + [p.pid for p in psutil.Process(sandbox.pid).children(recursive=True)]
    print(json.dumps(tree), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_the_sandbox_dies_with_the_app(layout: Layout, tmp_path: Path) -> None:
    script = tmp_path / "host_app.py"
    script.write_text(textwrap.dedent(HOST_APP))
    app = subprocess.Popen([sys.executable, str(script), str(layout.plugin)], stdout=subprocess.PIPE,
                           env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        assert app.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(app.stdout.readline), 30)
        tree = json.loads(line)
        assert len(tree) >= 4 and all(alive(p) for p in tree)
        app.kill()  # the app crashes: no close(), no cleanup code of ours runs
        app.wait()
        await wait_until(lambda: not any(alive(p) for p in tree))
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


async def test_a_fresh_sandbox_leaves_nothing_behind_when_closed(layout: Layout) -> None:
    sandboxed = await SandboxedProcess.start(layout.policy(), ["sh", "-c", "sleep 300 & echo up; sleep 300"])
    assert sandboxed.process.stdout is not None
    assert await sandboxed.process.stdout.readline() == b"up\n"
    tree = [sandboxed.process.pid, *descendants(sandboxed.process.pid)]
    assert len(tree) >= 4  # bwrap, its init, sh, the sleeps
    await sandboxed.aclose()
    await wait_until(lambda: not any(alive(p) for p in tree))


@needs_system_python
async def test_a_packaged_app_runs_the_supervisor_on_the_system_python(layout: Layout,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """PyInstaller's sys.executable is the app itself, which cannot run a script."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    helper = helper_python()
    assert helper is not None and helper.executable.startswith("/usr/")
    async with await PersistentSandbox.start(layout.policy()) as sandbox:
        proc = await sandbox.spawn(["sh", "-c", "cat /proc/$PPID/cmdline | tr '\\0' ' '"])
        out, _ = await proc.communicate()
    assert out.decode().startswith(helper.executable) and "supervisor.py" in out.decode()
