"""One `node` process and the newline-delimited JSON-RPC 2.0 conversation with it.

The connection knows nothing about plugins' meaning: it spawns, waits for the ready line (id
"init"), correlates many requests in flight by id, expires them, handles stdout chunk by chunk as
the pipe delivers it (so an oversized line is refused before it is ever whole in memory), passes
stderr to `node_output.py`, and reports how the process ended. Restart policy and scope live in `node.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aleph_gui.core.errors import PluginCallError, PluginCrashed, PluginTimeout, cap_text
from aleph_gui.core.runtime.call_deadlines import CallDeadlines
from aleph_gui.core.runtime.json_lines import decoded, line_of
from aleph_gui.core.runtime.node_output import LogLimiter, StderrReader, top_level_id

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 16 * 1024 * 1024


class RemoteError(Exception):
    """The plugin answered a request with a JSON-RPC error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


RequestHandler = Callable[[str, dict[str, Any]], Awaitable[Any]]
ExitHandler = Callable[["NodeConnection", str, bool], None]


class _Pipes(asyncio.SubprocessProtocol):
    """Hands pipe data to the connection as it arrives: no reader task, no extra loop hop per answer."""

    def __init__(self, conn: NodeConnection) -> None:
        self.conn = conn

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self.conn._stdout_data(data)
        else:
            self.conn._stderr.data(data)

    def process_exited(self) -> None:
        self.conn._process_exited()

    def connection_lost(self, exc: Exception | None) -> None:  # exited and every pipe closed
        self.conn._finish()

    def pause_writing(self) -> None:
        self.conn._pause_writing()

    def resume_writing(self) -> None:
        self.conn._resume_writing()


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
        self._stderr = StderrReader(self._log)
        self._on_request = on_request
        self._on_notification = on_notification
        self._on_exit = on_exit
        self._max_line = max_line_bytes
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._deadlines = CallDeadlines(self._expire)
        self._next_id = 1
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._out_partial = bytearray()
        self._discard_stdout = False
        self._closing = False
        self._kill_reason: str | None = None
        self._exit_reason: str | None = None
        self._exited = asyncio.Event()
        self._gone = asyncio.Event()
        self._write_ok = asyncio.Event()
        self._write_ok.set()
        self.is_ready = False

    # -- facts -------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._transport.get_pid() if self._transport else None

    @property
    def running(self) -> bool:
        return self._transport is not None and not self._exited.is_set()

    # -- lifecycle -----------------------------------------------------------------------------
    async def open(self, ready_timeout_s: float) -> dict[str, Any]:
        """Spawn and wait for the ready line; returns its `result` object."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        try:
            transport, _ = await loop.subprocess_exec(
                lambda: _Pipes(self), *self._argv, cwd=str(self._cwd), env=self._env,
                start_new_session=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
        except OSError as err:
            raise PluginCrashed(self.plugin_id, f"could not start node: {err}") from err
        self._transport = transport
        self._stdin = transport.get_pipe_transport(0)  # type: ignore[assignment]
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
            await self._gone.wait()
            raise
        self.is_ready = True
        return result

    async def close(self, grace_s: float = 2.0) -> None:
        """Graceful: ask it to shut down, close stdin, wait `grace_s`, then kill."""
        if self._transport is None:
            return
        self._closing = True
        if not self._exited.is_set():
            with contextlib.suppress(Exception):
                self._write({"jsonrpc": "2.0", "id": "shutdown", "method": "shutdown", "params": {}})
                assert self._stdin is not None
                self._stdin.close()
            try:
                await asyncio.wait_for(self._exited.wait(), grace_s)
            except TimeoutError:
                log.info("%s: node did not exit within %.1f s of shutdown; killing it", self.plugin_id, grace_s)
        self._kill_group()
        await self._gone.wait()

    async def kill(self, reason: str) -> None:
        """Stop it now because it misbehaved; in-flight calls fail with `reason`."""
        if self._kill_reason is None:
            self._kill_reason = reason
        self._kill_group()
        await self._gone.wait()

    def _kill_group(self) -> None:
        # start_new_session made node a group leader: the group includes any child it spawned.
        pid = self.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        if self._transport is not None and not self._exited.is_set():
            with contextlib.suppress(ProcessLookupError):
                self._transport.kill()

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
        if timeout_s:
            self._deadlines.add(rid, loop.time() + timeout_s)
        try:
            try:
                self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
            except (BrokenPipeError, ConnectionResetError) as err:
                await self._gone.wait()
                raise PluginCrashed(self.plugin_id, self._exit_reason or "its Node.js process closed its input") \
                    from err
            if not self._write_ok.is_set():  # the plugin is not reading: wait instead of buffering more
                await self._write_ok.wait()
            return await fut
        finally:
            self._deadlines.discard(rid)
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
        if self._stdin is None or self._stdin.is_closing() or self._exited.is_set():
            raise BrokenPipeError("stdin closed")
        self._stdin.write(line_of(message))

    def _pause_writing(self) -> None:
        self._write_ok.clear()

    def _resume_writing(self) -> None:
        self._write_ok.set()

    # -- reading -------------------------------------------------------------------------------
    def _stdout_data(self, chunk: bytes) -> None:
        if self._discard_stdout:
            return
        partial, start = self._out_partial, 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                partial += chunk[start:]
                if len(partial) > self._max_line:
                    self._oversized()
                return
            if partial:
                partial += chunk[start:nl]
                line = bytes(partial)
                partial.clear()
            else:
                line = chunk[start:nl]
            start = nl + 1
            if len(line) > self._max_line:
                self._oversized()
                return
            try:
                self._handle_line(line)
            except Exception:  # one bad line must not stop the reading of the next
                log.exception("%s: handling a line from node failed", self.plugin_id)

    def _oversized(self) -> None:
        # refuse the line before it grows any further, and stop the process
        mib = self._max_line / (1024 * 1024)
        self._kill_reason = self._kill_reason or (
            f"sent a message line larger than {mib:g} MiB, so its process was stopped")
        self._discard_stdout = True
        self._out_partial = bytearray()
        self._kill_group()

    def _handle_line(self, raw: bytes) -> None:
        if not raw.strip():
            return
        try:
            msg = decoded(raw)
        except ValueError:
            msg = None
        except RecursionError:
            self._too_deep(raw)
            return
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

    def _too_deep(self, raw: bytes) -> None:
        """A message nested deeper than Python can decode: fail the call it answers, if one can be told."""
        rid = top_level_id(raw)
        fut = self._pending.pop(rid, None) if rid is not None else None
        if fut is not None and not fut.done():
            fut.set_exception(RemoteError(-32700, "answered with JSON nested too deeply to read"))
        else:
            self._log("warning", "ignored a message on stdout nested too deeply to read")

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
    def _process_exited(self) -> None:
        self._exited.set()
        # Children it left behind may hold our pipes open; they belong to the plugin, so they go too.
        self._kill_group()
        # If a pipe still does not close, stop waiting for it.
        asyncio.get_running_loop().call_later(2.0, self._force_close)

    def _force_close(self) -> None:
        if self._transport is not None and not self._gone.is_set():
            self._transport.close()

    def _finish(self) -> None:
        if self._gone.is_set() or self._transport is None:
            return
        self._stderr.eof()
        self._deadlines.cancel_all()
        code = self._transport.get_returncode()
        code = -signal.SIGKILL if code is None else code
        self._transport.close()
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
        detail = self._stderr.last_error_line()
        return f"{what}: {detail}" if detail else what

def _error_text(err: Any) -> str:
    """A JSON-RPC error's message as the user will read it: the plugin's words, capped."""
    if isinstance(err, dict):
        return cap_text(str(err.get("message") or "unknown error"))
    return cap_text(str(err))
