"""One `node` process and the newline-delimited JSON-RPC 2.0 conversation with it.

The connection knows nothing about plugins' meaning: it spawns, waits for the ready line (id
"init"), correlates many requests in flight by id, expires them, reads stdout in chunks (so an
oversized line is refused before it is ever whole in memory), drains stderr into the log, and
reports how the process ended. Restart policy and scope live in `node.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aleph_gui.core.errors import PluginCallError, PluginCrashed, PluginTimeout

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 16 * 1024 * 1024
READ_CHUNK = 64 * 1024
LOG_LINES_PER_SECOND = 200  # a flooding plugin must not flood the UI log
LOG_LINE_CHARS = 4096
# Node's own notice about the permission flag is not the plugin's output.
_NODE_NOISE = ("ExperimentalWarning: Permission is an experimental feature",
               "(Use `node --trace-warnings ...`")


def _is_noise(line: str) -> bool:
    return any(marker in line for marker in _NODE_NOISE)
_ERROR_LINE = re.compile(r"^[A-Za-z_$][\w$.]*(Error|Exception)\b")


class RemoteError(Exception):
    """The plugin answered a request with a JSON-RPC error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LogLimiter:
    """Passes at most `per_second` lines a second and reports how many it dropped."""

    def __init__(self, sink: Callable[[str, str], None], per_second: int = LOG_LINES_PER_SECOND) -> None:
        self._sink = sink
        self._per_second = per_second
        self._window = 0.0
        self._count = 0
        self._dropped = 0

    def __call__(self, level: str, message: str) -> None:
        now = time.monotonic()
        if now - self._window >= 1.0:
            self._flush()
            self._window, self._count = now, 0
        if self._count >= self._per_second:
            if not self._dropped:  # say how many were dropped once the window is over
                with contextlib.suppress(RuntimeError):
                    asyncio.get_running_loop().call_later(max(self._window + 1.0 - now, 0.0), self._flush)
            self._dropped += 1
            return
        self._count += 1
        if len(message) > LOG_LINE_CHARS:
            message = message[:LOG_LINE_CHARS] + " …(truncated)"
        self._sink(level, message)

    def _flush(self) -> None:
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            self._sink("warning", f"{dropped} log lines were dropped: the plugin writes too fast")


RequestHandler = Callable[[str, dict[str, Any]], Awaitable[Any]]
ExitHandler = Callable[["NodeConnection", str, bool], None]


class NodeConnection:
    """A spawned `node` process speaking JSON-RPC on stdin/stdout."""

    def __init__(self, plugin_id: str, argv: list[str], cwd: Path, env: dict[str, str], *,
                 log_sink: Callable[[str, str], None], on_request: RequestHandler,
                 on_notification: Callable[[str, dict[str, Any]], None], on_exit: ExitHandler,
                 max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.plugin_id = plugin_id
        self._argv = argv
        self._cwd = cwd
        self._env = env
        self._log = LogLimiter(log_sink)
        self._on_request = on_request
        self._on_notification = on_notification
        self._on_exit = on_exit
        self._max_line = max_line_bytes
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 1
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stderr_tail: deque[str] = deque(maxlen=40)
        self._closing = False
        self._kill_reason: str | None = None
        self._exit_reason: str | None = None
        self._gone = asyncio.Event()
        self.is_ready = False

    # -- facts -------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and not self._gone.is_set()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    # -- lifecycle -----------------------------------------------------------------------------
    async def open(self, ready_timeout_s: float) -> dict[str, Any]:
        """Spawn and wait for the ready line; returns its `result` object."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self._argv, cwd=str(self._cwd), env=self._env, start_new_session=True,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=READ_CHUNK)
        except OSError as err:
            raise PluginCrashed(self.plugin_id, f"could not start node: {err}") from err
        self._tasks = [loop.create_task(self._read_stdout()), loop.create_task(self._read_stderr())]
        try:
            result = await asyncio.wait_for(asyncio.shield(self._ready), ready_timeout_s)
        except TimeoutError:
            self._ready.cancel()
            await self.kill(f"did not print its ready line (id \"init\") within {ready_timeout_s:g} s")
            raise PluginTimeout(self.plugin_id, f"did not become ready within {ready_timeout_s:g} s "
                                                "(no ready line with id \"init\")") from None
        except PluginCallError:
            # it refused to start (or died): make sure nothing is left running
            self._kill_group()
            await self._wait_gone()
            raise
        self.is_ready = True
        return result

    async def close(self, grace_s: float = 2.0) -> None:
        """Graceful: ask it to shut down, close stdin, wait `grace_s`, then kill."""
        if self._proc is None:
            return
        self._closing = True
        if self._proc.returncode is None:
            with contextlib.suppress(Exception):
                self._write({"jsonrpc": "2.0", "id": "shutdown", "method": "shutdown", "params": {}})
                assert self._proc.stdin is not None
                self._proc.stdin.close()
            try:
                await asyncio.wait_for(self._proc.wait(), grace_s)
            except TimeoutError:
                log.info("%s: node did not exit within %.1f s of shutdown; killing it", self.plugin_id, grace_s)
        self._kill_group()
        await self._wait_gone()

    async def kill(self, reason: str) -> None:
        """Stop it now because it misbehaved; in-flight calls fail with `reason`."""
        if self._kill_reason is None:
            self._kill_reason = reason
        self._kill_group()
        await self._wait_gone()

    def _kill_group(self) -> None:
        # start_new_session made node a group leader: the group includes any child it spawned.
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self._proc.kill()

    async def _wait_gone(self) -> None:
        await self._gone.wait()

    # -- requests ------------------------------------------------------------------------------
    async def request(self, method: str, params: dict[str, Any], timeout_s: float | None) -> Any:
        """Send a request and wait for its answer. Raises TimeoutError (after sending
        `$/cancelRequest`), RemoteError, or PluginCrashed when the process ends meanwhile."""
        if not self.running:
            raise PluginCrashed(self.plugin_id, self._exit_reason or "its Node.js process is not running")
        loop = asyncio.get_running_loop()
        rid = self._next_id
        self._next_id += 1
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending[rid] = fut
        timer = loop.call_later(timeout_s, self._expire, rid) if timeout_s else None
        try:
            self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
            assert self._proc is not None and self._proc.stdin is not None
            await self._proc.stdin.drain()
            return await fut
        except (BrokenPipeError, ConnectionResetError) as err:
            await self._wait_gone()
            raise PluginCrashed(self.plugin_id, self._exit_reason or "its Node.js process closed its input") \
                from err
        finally:
            if timer is not None:
                timer.cancel()
            self._pending.pop(rid, None)

    def notify(self, method: str, params: dict[str, Any]) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def _expire(self, rid: int) -> None:
        fut = self._pending.pop(rid, None)
        if fut is not None and not fut.done():
            fut.set_exception(TimeoutError())
            self.notify("$/cancelRequest", {"id": rid})

    def _write(self, message: dict[str, Any]) -> None:
        if self._proc is None or self._proc.stdin is None or self._proc.stdin.is_closing():
            raise BrokenPipeError("stdin closed")
        self._proc.stdin.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    # -- reading -------------------------------------------------------------------------------
    async def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        reader = self._proc.stdout
        partial = bytearray()
        try:
            while True:
                chunk = await reader.read(READ_CHUNK)
                if not chunk:
                    break
                start, oversize = 0, False
                while True:
                    nl = chunk.find(b"\n", start)
                    if nl < 0:
                        partial += chunk[start:]
                        oversize = len(partial) > self._max_line
                        break
                    if partial:
                        partial += chunk[start:nl]
                        line = bytes(partial)
                        partial.clear()
                    else:
                        line = chunk[start:nl]
                    start = nl + 1
                    if len(line) > self._max_line:
                        oversize = True
                        break
                    self._handle_line(line)
                if oversize:
                    # refuse the line before it grows any further, and stop the process
                    mib = self._max_line / (1024 * 1024)
                    self._kill_reason = self._kill_reason or (
                        f"sent a message line larger than {mib:g} MiB, so its process was stopped")
                    partial.clear()
                    self._kill_group()
                    break
        except Exception:  # a reader must never die silently: treat it as the process going away
            log.exception("%s: reading node's stdout failed", self.plugin_id)
            self._kill_group()
        await self._finish()

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        reader = self._proc.stderr
        partial = bytearray()
        while True:
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                break
            partial += chunk
            *lines, rest = partial.split(b"\n")
            partial = bytearray(rest[: LOG_LINE_CHARS * 4])  # keep a flood without newline bounded
            for raw in lines:
                self._stderr_line(raw.decode("utf-8", "replace").rstrip("\r"))
        if partial:
            self._stderr_line(partial.decode("utf-8", "replace"))

    def _stderr_line(self, text: str) -> None:
        if not text.strip():
            return
        self._stderr_tail.append(text)
        if _is_noise(text):
            return
        self._log("warning", text)

    def _handle_line(self, raw: bytes) -> None:
        if not raw.strip():
            return
        try:
            msg = json.loads(raw)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
            text = raw[:200].decode("utf-8", "replace")
            self._log("warning", f"ignored a line on stdout that is not JSON-RPC: {text}")
            return
        method = msg.get("method")
        if method is None:
            self._handle_answer(msg)
        elif not isinstance(method, str):
            self._log("warning", "ignored a JSON-RPC message whose method is not a string")
        elif "id" in msg:
            asyncio.get_running_loop().create_task(self._answer_request(msg["id"], method, msg.get("params")))
        else:
            params = msg.get("params")
            self._on_notification(method, params if isinstance(params, dict) else {})

    def _handle_answer(self, msg: dict[str, Any]) -> None:
        rid = msg.get("id")
        if rid == "init":
            if self._ready is not None and not self._ready.done():
                if "error" in msg:
                    self._ready.set_exception(PluginCallError(self.plugin_id, _error_text(msg["error"])))
                else:
                    result = msg.get("result")
                    self._ready.set_result(result if isinstance(result, dict) else {})
            return
        fut = self._pending.pop(rid, None) if isinstance(rid, int) else None
        if fut is None:
            if rid != "shutdown":
                log.debug("%s: answer to unknown or expired request %r ignored", self.plugin_id, rid)
            return
        if fut.done():
            return
        if "error" in msg:
            err = msg["error"]
            code = err.get("code", -32000) if isinstance(err, dict) else -32000
            fut.set_exception(RemoteError(code if isinstance(code, int) else -32000, _error_text(err)))
        else:
            fut.set_result(msg.get("result"))

    async def _answer_request(self, rid: Any, method: str, params: Any) -> None:
        answer: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
        try:
            answer["result"] = await self._on_request(method, params if isinstance(params, dict) else {})
        except RemoteError as err:
            answer["error"] = {"code": err.code, "message": err.message}
        except Exception as err:  # the plugin gets the message; the app keeps running
            log.exception("%s: host request %s failed", self.plugin_id, method)
            answer["error"] = {"code": -32603, "message": f"the host failed: {err}"}
        if self.running:
            with contextlib.suppress(Exception):
                self._write(answer)

    # -- ending ------------------------------------------------------------------------------------
    async def _finish(self) -> None:
        assert self._proc is not None
        code = await self._proc.wait()
        # let stderr drain so the reason can quote the plugin's last error
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._tasks[1:]), 1.0)
        expected = self._closing and self._kill_reason is None
        if self._kill_reason:
            reason = self._kill_reason
        elif expected:
            reason = "the plugin was stopped while the call was running"
        else:
            reason = self._describe_exit(code)
        self._exit_reason = reason
        self._gone.set()
        err_type = PluginCallError if expected else PluginCrashed
        for fut in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(err_type(self.plugin_id, reason))
        self._pending.clear()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(PluginCrashed(self.plugin_id, f"{reason} before it was ready"))
            return
        if self.is_ready:
            self._on_exit(self, reason, expected)

    def _describe_exit(self, code: int) -> str:
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            what = f"its Node.js process was killed ({name})"
        else:
            what = f"its Node.js process exited with code {code}"
        detail = self.last_error_line()
        return f"{what}: {detail}" if detail else what

    def last_error_line(self) -> str:
        lines = [ln.strip() for ln in self._stderr_tail if ln.strip() and not _is_noise(ln)]
        for line in reversed(lines):
            if _ERROR_LINE.match(line):
                return line[:300]
        rest = [ln for ln in lines if not ln.startswith(("at ", "Node.js v"))]
        return rest[-1][:300] if rest else ""


def _error_text(err: Any) -> str:
    if isinstance(err, dict):
        return str(err.get("message") or "unknown error")
    return str(err)

