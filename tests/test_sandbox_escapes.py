"""A real process inside the sandbox tries to get out; each attempt must fail, visibly to the user.

Every escape runs in both shapes the app uses: a fresh bwrap per process (Node plugins, MCP
servers) and the persistent sandbox (command hooks). Secrets live in a fake home folder (HOME is
pointed at tmp_path) and in a folder outside it; the plugin is granted one folder read-only and
one read-write.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import psutil
import pytest
from sandbox_support import (
    Layout,
    Ran,
    make_layout,
    needs_node,
    needs_sandbox,
    needs_system_python,
    python,
    run_fresh,
    run_persistent,
)

from aleph_gui.core.sandbox import PersistentSandbox, SandboxPolicy, sandbox_status
from aleph_gui.core.sandbox.interpreter import helper_python

pytestmark = [needs_sandbox, needs_system_python]

Runner = Callable[[SandboxPolicy, list[str]], Awaitable[Ran]]


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    return make_layout(tmp_path, monkeypatch)


@pytest.fixture(params=["fresh", "persistent"])
async def run(request: pytest.FixtureRequest) -> AsyncIterator[Runner]:
    opened: list[PersistentSandbox] = []

    async def runner(policy: SandboxPolicy, argv: list[str]) -> Ran:
        if request.param == "fresh":
            return await run_fresh(policy, argv)
        sandbox = await PersistentSandbox.start(policy)
        opened.append(sandbox)
        return await run_persistent(sandbox, argv)

    yield runner
    for sandbox in opened:
        await sandbox.close()


def try_read(path: Path | str) -> list[str]:
    return python(f"""
try:
    print(open({str(path)!r}).read(), end='')
except OSError as err:
    print('DENIED', type(err).__name__)
""")


def try_write(path: Path | str, text: str = "PWNED") -> list[str]:
    return python(f"""
try:
    with open({str(path)!r}, 'w') as f:
        f.write({text!r})
    print('WROTE')
except OSError as err:
    print('DENIED', type(err).__name__)
""")


async def test_files_of_the_home_folder_outside_the_grants_are_invisible(layout: Layout, run: Runner) -> None:
    policy = layout.policy()
    assert (await run(policy, try_read(layout.home_secret))).out.startswith("DENIED")
    listing = (await run(policy, python(f"import os; print(sorted(os.listdir({str(layout.home)!r})))"))).out
    assert ".ssh" not in listing
    assert "Documents" in listing and ".aleph" in listing  # only the way to the grants exists
    # the granted folder itself is readable: the sandbox restricts, it does not break the plugin
    assert (await run(policy, try_read(layout.documents / "notes.txt"))).out == "granted notes\n"


async def test_files_outside_home_and_the_real_home_are_invisible(layout: Layout, run: Runner) -> None:
    policy = layout.policy()
    assert (await run(policy, try_read(layout.outside_secret))).out.startswith("DENIED")
    shown = (await run(policy, python("import os; print(sorted(os.listdir('/')))"))).out
    for hidden in ("'home'", "'mnt'", "'var'", "'work'"):
        assert hidden not in shown, f"{hidden} is visible in the sandbox: {shown}"
    # The user's real home shows at most the way to the interpreter of the persistent sandbox's
    # supervisor (pyenv, conda), never anything else of it.
    real_home = pwd.getpwuid(os.getuid()).pw_dir
    helper = helper_python()
    allowed = {Path(b).relative_to(real_home).parts[0] for b in (helper.bind if helper else ())
               if b.startswith(real_home + "/")}
    inside = await run(policy, python(f"import os, json; p = {real_home!r}; "
                                      "print(json.dumps(os.listdir(p) if os.path.isdir(p) else []))"))
    assert set(inside.json()) <= allowed
    run_dir = await run(policy, python("import os; print(os.listdir('/run') if os.path.isdir('/run') else [])"))
    assert run_dir.out.strip() in ("[]", "['aleph-sandbox']")  # no session bus, no Wayland/X socket


async def test_writes_outside_the_read_write_grant_fail(layout: Layout, run: Runner) -> None:
    policy = layout.policy()
    assert (await run(policy, try_write(layout.workspace / "ok.txt", "fine"))).out == "WROTE\n"
    assert (layout.workspace / "ok.txt").read_text() == "fine"
    assert (await run(policy, try_write(layout.sibling / "keep.txt"))).out.startswith("DENIED")
    # The grant's parent exists inside only as the sandbox's own scratch space: nothing reaches the host.
    await run(policy, try_write(layout.workspace.parent / "new.txt"))
    await run(policy, try_write(layout.home / "new.txt"))
    assert (layout.sibling / "keep.txt").read_text() == "sibling data\n"
    assert not (layout.workspace.parent / "new.txt").exists()
    assert not (layout.home / "new.txt").exists()


async def test_read_only_grant_and_plugin_folder_cannot_be_written(layout: Layout, run: Runner) -> None:
    policy = layout.policy()
    assert (await run(policy, try_write(layout.documents / "notes.txt"))).out == "DENIED OSError\n"
    assert (await run(policy, try_write(layout.plugin / "index.js"))).out == "DENIED OSError\n"
    assert (layout.documents / "notes.txt").read_text() == "granted notes\n"
    assert (layout.plugin / "index.js").read_text() == "// the plugin's own code\n"


async def test_symlinks_in_grants_and_plugin_folder_do_not_lead_out(layout: Layout, run: Runner) -> None:
    (layout.documents / "key").symlink_to(layout.home_secret)
    (layout.plugin / "stolen").symlink_to(layout.outside_secret)
    (layout.workspace / "overwrite").symlink_to(layout.sibling / "keep.txt")
    (layout.workspace / "dir").symlink_to(layout.home / ".ssh")
    policy = layout.policy()
    assert (await run(policy, try_read(layout.documents / "key"))).out.startswith("DENIED")
    assert (await run(policy, try_read(layout.plugin / "stolen"))).out.startswith("DENIED")
    assert (await run(policy, try_read(layout.workspace / "dir" / "id_rsa"))).out.startswith("DENIED")
    assert (await run(policy, try_write(layout.workspace / "overwrite"))).out.startswith("DENIED")
    assert (layout.sibling / "keep.txt").read_text() == "sibling data\n"


async def test_a_symlink_made_inside_the_sandbox_leads_nowhere_later(layout: Layout, run: Runner) -> None:
    """The WASM-then-Node chain: one plugin run creates a link in its read-write folder, the next follows it."""
    policy = layout.policy()
    made = await run(policy, python(f"import os; os.symlink({str(layout.outside_secret)!r}, "
                                    f"{str(layout.workspace / 'link')!r}); print('LINKED')"))
    assert made.out == "LINKED\n"
    assert (await run(policy, try_read(layout.workspace / "link"))).out.startswith("DENIED")


async def test_killing_the_parent_does_not_touch_the_app(layout: Layout, run: Runner) -> None:
    ran = await run(layout.policy(), python("import os, signal; os.kill(os.getppid(), signal.SIGKILL); "
                                            "print('ppid', os.getppid())"))
    # we are still here: the parent inside is the sandbox's own init or supervisor, never the app
    assert psutil.Process(os.getpid()).is_running()
    assert "ppid" in ran.out or ran.code != 0


async def test_another_process_of_the_same_user_cannot_be_signalled(layout: Layout, run: Runner) -> None:
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        ran = await run(layout.policy(), python(f"""
import os, signal
try:
    os.kill({victim.pid}, signal.SIGKILL)
    print('KILLED')
except OSError as err:
    print('DENIED', type(err).__name__)
"""))
        assert ran.out == "DENIED ProcessLookupError\n"
        assert victim.poll() is None, "a process outside the sandbox was killed"
    finally:
        victim.kill()
        victim.wait()


async def test_host_processes_are_not_visible_in_proc(layout: Layout, run: Runner) -> None:
    marker = f"host-process-marker-{os.getpid()}"
    host = subprocess.Popen([sys.executable, "-c", "import time, sys; time.sleep(120)", marker])
    try:
        ran = await run(layout.policy(), python("""
import os, json
seen = []
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        seen.append(open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())
    except OSError:
        pass
print(json.dumps(seen))
"""))
    finally:
        host.kill()
        host.wait()
    seen = ran.json()
    assert len(seen) <= 4, seen  # bwrap's init, the supervisor (persistent), this python
    assert not any(marker in cmd for cmd in seen)
    assert all(cmd.startswith(("/usr/bin/bwrap", "/usr/bin/python3")) or "supervisor.py" in cmd for cmd in seen)


class CountingServer:
    """A TCP server on the host's 127.0.0.1 that counts who connects."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


async def test_no_network_means_not_even_the_hosts_localhost(layout: Layout, run: Runner) -> None:
    server = CountingServer()
    try:
        for policy in (layout.policy(), layout.policy(network="hosts", hosts=["api.example.com"])):
            ran = await run(policy, python(f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {server.port}), timeout=5)
    print('CONNECTED')
except OSError as err:
    print('DENIED', type(err).__name__)
"""))
            assert ran.out.startswith("DENIED"), ran
        assert server.accepted == 0
    finally:
        server.sock.close()


async def test_environment_carries_no_secret_of_the_app(layout: Layout, run: Runner,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "AKIA-FAKE-SECRET")
    monkeypatch.setenv("NODE_OPTIONS", "--require /tmp/evil.js")
    ran = await run(layout.policy(), python("import os, json; print(json.dumps(dict(os.environ)))"))
    env = ran.json()
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "AKIA-FAKE-SECRET" not in ran.out
    assert "NODE_OPTIONS" not in env
    assert env["HOME"] == str(layout.home)


async def test_tmp_is_private(layout: Layout, run: Runner, tmp_path: Path) -> None:
    marker = Path("/tmp") / f"aleph-host-marker-{os.getpid()}"
    marker.write_text("host tmp")
    try:
        policy = layout.policy()
        assert (await run(policy, try_read(marker))).out.startswith("DENIED")
        assert (await run(policy, try_write("/tmp/from-sandbox.txt"))).out == "WROTE\n"
        assert not Path("/tmp/from-sandbox.txt").exists()
    finally:
        marker.unlink()


async def test_no_new_user_namespace_inside(layout: Layout, run: Runner) -> None:
    if not sandbox_status().disable_userns:
        pytest.skip("this bubblewrap cannot disable nested user namespaces")
    ran = await run(layout.policy(), ["unshare", "--user", "--map-root-user", "true"])
    assert ran.code != 0, "a nested user namespace could be made inside the sandbox"


@needs_node
async def test_node_plugin_cannot_kill_the_app_or_read_home(layout: Layout) -> None:
    """Finding 6 and 4 of issue 13, with the runtime the findings used."""
    (layout.plugin / "evil.js").write_text(f"""
const fs = require('fs');
let read = 'DENIED';
try {{ read = fs.readFileSync({json.dumps(str(layout.home_secret))}, 'utf8'); }} catch (e) {{ read = 'DENIED ' + e.code; }}
try {{ process.kill(process.ppid, 'SIGKILL'); }} catch (e) {{}}
console.log(JSON.stringify({{read}}));
""")
    ran = await run_fresh(layout.policy(), ["node", str(layout.plugin / "evil.js")])
    assert ran.json()["read"].startswith("DENIED")
    assert psutil.Process(os.getpid()).is_running()


async def test_timeout_kill_reaches_the_commands_children(layout: Layout) -> None:
    async with await PersistentSandbox.start(layout.policy()) as sandbox:
        proc = await sandbox.spawn(["sh", "-c", "sleep 100 & sleep 100; wait"])
        proc.kill()
        assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.read(), 10) == b""  # no child kept the pipe open
