"""A long-lived sandbox per plugin that starts commands fast (command hooks, one command per event).

One bwrap runs `supervisor.py`; `spawn()` hands it the command and three pipe ends over a
SOCK_SEQPACKET socket pair, and the command starts inside the existing namespaces, which costs about
what an unsandboxed `asyncio.create_subprocess_exec` costs instead of a whole new bwrap.

    sandbox = await PersistentSandbox.start(policy, log=plugin_log)
    proc = await sandbox.spawn(["sh", "-c", command], env={...})
    out, err = await proc.communicate(event_json)      # or proc.stdin / stdout / stderr
    proc.kill()                                         # the command's whole process group
    await sandbox.close()                               # kills what still runs; nothing is left

The sandbox dies with the app (`--die-with-parent`). If it stops on its own (a plugin killed its
supervisor), commands in flight end with -9 and the next `spawn()` starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import json
import os
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aleph_gui.core.sandbox.bwrap import build_argv, proxy_env
from aleph_gui.core.sandbox.errors import SandboxCrashed, SandboxError, SandboxUnavailable
from aleph_gui.core.sandbox.interpreter import helper_python
from aleph_gui.core.sandbox.layout import INSIDE_SUPERVISOR, SUPERVISOR_SCRIPT
from aleph_gui.core.sandbox.pipes import read_pipe, write_pipe
from aleph_gui.core.sandbox.policy import SandboxPolicy
from aleph_gui.core.sandbox.proxy import FilteringProxy
from aleph_gui.core.sandbox.status import SandboxStatus, sandbox_status

PIPE = asyncio.subprocess.PIPE
DEVNULL = asyncio.subprocess.DEVNULL
READY_TIMEOUT_S = 10.0
READY = b'{"ready": true}'  # the supervisor's first message, byte for byte
CLOSE_GRACE_S = 3.0
MAX_REQUEST = 100_000  # argv + env of one command: one SEQPACKET message, within default socket buffers
Log = Callable[[str], None]


async def _writable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_writer(sock.fileno())


class SandboxedCommand:
    """One command running in a persistent sandbox; shaped like `asyncio.subprocess.Process`."""

    def __init__(self, sandbox: PersistentSandbox, ident: int) -> None:
        self._sandbox = sandbox
        self._ident = ident
        self._exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.pid: int | None = None  # inside the sandbox's PID namespace, once it has started
        self.stdin: asyncio.StreamWriter | None = None
        self.stdout: asyncio.StreamReader | None = None
        self.stderr: asyncio.StreamReader | None = None

    @property
    def returncode(self) -> int | None:
        return self._exit.result() if self._exit.done() else None

    async def wait(self) -> int:
        """The exit code; negative when a signal ended it (as in asyncio)."""
        return await asyncio.shield(self._exit)

    def send_signal(self, signum: int) -> None:
        """Signal the command's whole process group (it runs in its own session)."""
        if not self._exit.done():
            self._sandbox._send_soon({"op": "kill", "id": self._ident, "signal": int(signum)})

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def communicate(self, input: bytes | None = None) -> tuple[bytes, bytes]:
        """Write `input`, close stdin, read stdout and stderr to EOF, wait for the exit."""

        async def feed() -> None:
            if self.stdin is None:
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if input:
                    self.stdin.write(input)
                    await self.stdin.drain()
            self.stdin.close()

        async def drain(stream: asyncio.StreamReader | None) -> bytes:
            return await stream.read() if stream is not None else b""

        _, out, err = await asyncio.gather(feed(), drain(self.stdout), drain(self.stderr))
        await self.wait()
        return out, err

    def _exited(self, code: int) -> None:
        if not self._exit.done():
            self._exit.set_result(code)


class PersistentSandbox:
    """One plugin's long-lived sandbox. Create with `await PersistentSandbox.start(policy)`."""

    def __init__(self, policy: SandboxPolicy, *, log: Log | None = None, status: SandboxStatus | None = None) -> None:
        self.policy = policy
        self._log = log or (lambda _line: None)
        self._status = status
        self._ids = itertools.count(1)
        self._commands: dict[int, SandboxedCommand] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self._sock: socket.socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr: asyncio.Task[None] | None = None
        self._proxy: FilteringProxy | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def start(cls, policy: SandboxPolicy, *, log: Log | None = None,
                    status: SandboxStatus | None = None) -> PersistentSandbox:
        """Raises SandboxUnavailable when this system has no OS sandbox (run unsandboxed and say so), or
        SandboxError when this sandbox cannot start (use a fresh sandbox per command instead)."""
        sandbox = cls(policy, log=log, status=status)
        try:
            await sandbox._launch()
        except BaseException:
            await sandbox.close()
            raise
        return sandbox

    @property
    def alive(self) -> bool:
        return self._sock is not None and self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        """The host pid of this sandbox's bwrap process."""
        return self._proc.pid if self._proc else None

    async def __aenter__(self) -> PersistentSandbox:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # --- starting -------------------------------------------------------------------------

    async def _launch(self) -> None:
        plugin = self.policy.plugin_id
        status = self._status or sandbox_status()
        if not status.available:
            raise SandboxUnavailable(plugin, status.sentence)
        helper = helper_python()
        if helper is None:
            # Not SandboxUnavailable: the OS sandbox works, a fresh one per command (SandboxedProcess) still can.
            raise SandboxError(plugin, "the persistent sandbox needs a Python 3.9+ interpreter to run its "
                                       "supervisor, and this build has none (install python3).")
        if self.policy.network == "hosts" and self._proxy is None:
            self._proxy = await FilteringProxy.start(plugin, self.policy.hosts, on_refused=self._log)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            argv = build_argv(
                self.policy, [helper.executable, "-I", "-S", INSIDE_SUPERVISOR, str(theirs.fileno())],
                proxy_socket=self._proxy.socket_path if self._proxy else None, status=status,
                internal_files={INSIDE_SUPERVISOR: str(SUPERVISOR_SCRIPT)}, extra_ro=helper.bind)
            theirs.set_inheritable(True)
            self._proc = await asyncio.create_subprocess_exec(
                *argv, stdin=DEVNULL, stdout=DEVNULL, stderr=PIPE, pass_fds=(theirs.fileno(),))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._stderr = asyncio.ensure_future(self._copy_stderr(self._proc))
        loop = asyncio.get_running_loop()
        try:
            first = await asyncio.wait_for(loop.sock_recv(ours, 65536), READY_TIMEOUT_S)
        except (TimeoutError, OSError) as err:
            first = b""
            self._log(f"the sandbox did not answer: {err or 'timed out'}")
        if first != READY:
            await self._stop_process()
            raise SandboxError(plugin, f"the sandbox did not start (bwrap exit code {self._proc.returncode}); "
                                       "see the plugin's log")
        self._reader = asyncio.ensure_future(self._read_replies(ours))

    async def _copy_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            self._log(line.decode(errors="replace").rstrip())

    async def _ensure_running(self) -> None:
        if self._closed:
            raise SandboxError(self.policy.plugin_id, "the sandbox was closed.")
        if self.alive:
            return
        async with self._lock:
            if not self.alive and not self._closed:
                self._log("the sandbox had stopped; starting a new one")
                await self._stop_process()
                await self._launch()

    # --- talking to the supervisor --------------------------------------------------------

    async def _read_replies(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await loop.sock_recv(sock, 65536):
                self._dispatch(json.loads(data))
        except (OSError, ValueError) as err:
            self._log(f"the sandbox's control channel failed: {err}")
        finally:
            if sock is self._sock:  # the supervisor went away on its own
                self._sock = None
                sock.close()
                if self._commands:
                    self._log("the sandbox stopped; the commands running in it were ended")
                self._fail_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        command = self._commands.get(int(message.get("id", 0)))
        if command is None:
            return
        if "started" in message:
            command.pid = int(message["started"])
        elif "exit" in message:
            del self._commands[command._ident]
            command._exited(int(message["exit"]))

    def _fail_all(self) -> None:
        """The supervisor is gone, and with it the sandbox and every command in it."""
        for command in self._commands.values():
            command._exited(-signal.SIGKILL)
        self._commands.clear()

    async def _send(self, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
        data = json.dumps(message).encode()
        if len(data) > MAX_REQUEST:
            raise SandboxError(self.policy.plugin_id, f"the command and its environment are too large "
                                                      f"({len(data)} bytes; at most {MAX_REQUEST}).")
        loop = asyncio.get_running_loop()
        while True:
            sock = self._sock
            if sock is None:
                raise SandboxCrashed(self.policy.plugin_id, "the sandbox stopped.")
            try:
                if fds:
                    socket.send_fds(sock, [data], list(fds))
                else:
                    sock.send(data)
                return
            except BlockingIOError:
                await _writable(loop, sock)
            except OSError as err:
                if err.errno == errno.EMSGSIZE:
                    raise SandboxError(self.policy.plugin_id, "the command and its environment are too large "
                                                              f"({len(data)} bytes).") from None
                raise SandboxCrashed(self.policy.plugin_id, f"the sandbox stopped ({err}).") from None

    def _send_soon(self, message: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._send(message))
        self._background.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log(f"could not signal a command: {task.exception()}")

    # --- commands -------------------------------------------------------------------------

    async def spawn(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdin: int = PIPE,
        stdout: int = PIPE,
        stderr: int = PIPE,
        limit: int = 2**16,
    ) -> SandboxedCommand:
        """Start `argv` inside the sandbox. `env` is exactly the command's environment (default: the
        policy's; the proxy variables are added for network 'hosts'); `cwd` defaults to the plugin
        folder. Each stream is PIPE, DEVNULL or a file descriptor of ours. A command that cannot
        start behaves as in a shell: the reason on its stderr and exit code 127 (not found) or 126.
        Raises SandboxUnavailable when there is no sandbox, SandboxError when it cannot start."""
        if not argv:
            raise SandboxError(self.policy.plugin_id, "there is no command to run.")
        await self._ensure_running()
        chosen = self.policy.environment if env is None else dict(env)
        if self.policy.network == "hosts":
            chosen = proxy_env(chosen, bridge=True)
        ident = next(self._ids)
        command = SandboxedCommand(self, ident)
        theirs: list[int] = []
        ours: list[int | None] = []
        try:
            for spec, reading in ((stdin, True), (stdout, False), (stderr, False)):
                if spec == PIPE:
                    r, w = os.pipe()
                    theirs.append(r if reading else w)
                    ours.append(w if reading else r)
                elif spec == DEVNULL:
                    theirs.append(os.open(os.devnull, os.O_RDWR))
                    ours.append(None)
                elif spec >= 0:
                    theirs.append(os.dup(spec))
                    ours.append(None)
                else:
                    raise ValueError(f"unsupported stream setting {spec}")
            self._commands[ident] = command
            # Not waiting for "started": the command's input waits in the pipe, and a command
            # that cannot start reports like a shell (reason on stderr, exit 127/126).
            await self._send({"op": "spawn", "id": ident, "argv": [str(a) for a in argv], "env": chosen,
                              "cwd": cwd or self.policy.plugin_dir}, theirs)
        except BaseException:
            self._commands.pop(ident, None)
            for fd in ours:
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            for fd in theirs:  # the message carried copies; the supervisor hands them on
                os.close(fd)
        if ours[0] is not None:
            command.stdin = await write_pipe(ours[0])
        if ours[1] is not None:
            command.stdout = await read_pipe(ours[1], limit)
        if ours[2] is not None:
            command.stderr = await read_pipe(ours[2], limit)
        return command

    # --- stopping -------------------------------------------------------------------------

    async def _stop_process(self) -> None:
        reader, self._reader = self._reader, None
        sock, self._sock = self._sock, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if sock is not None:
            sock.close()  # the supervisor sees EOF, kills its commands and exits
        proc = self._proc
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), CLOSE_GRACE_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()  # its sandbox goes with it (--die-with-parent inside bwrap)
                await proc.wait()
        if self._stderr is not None:
            await self._stderr  # ends at EOF, now that bwrap has exited
            self._stderr = None
        self._fail_all()

    async def close(self) -> None:
        """Kill every command still running, stop the sandbox and its proxy. Idempotent."""
        self._closed = True
        async with self._lock:  # a new sandbox being launched right now is stopped too, not leaked
            await self._stop_process()
        for task in list(self._background):
            task.cancel()
        if self._proxy is not None:
            await self._proxy.close()
            self._proxy = None
