"""Claude Code command hooks: run a shell command with the event JSON on stdin.

Protocol (Claude Code's): exit 2 = block, with stderr as the reason; exit 0 with a JSON object on
stdout = a decision (`decision: "block"`, `continue: false`, `hookSpecificOutput.permissionDecision:
"deny"`, `updatedInput` -> the tool input is replaced); any other exit = a non-blocking error; a
timeout = no decision (the whole process group is killed). Commands run in the plugin's OS sandbox
(one long-lived bubblewrap sandbox per plugin, so a hook starts as fast as an unsandboxed command):
the plugin folder read-only, its granted folders and network, nothing else of the home folder. Where
this system has no sandbox they run as the user, which the review says (review.py).

No event data ever becomes shell text: the command is run exactly as the manifest wrote it, and
`CLAUDE_PLUGIN_ROOT` / `CLAUDE_PROJECT_DIR` reach it only as environment variables (the shell expands
`${VAR}` itself, without parsing the value again). The command inherits a small, documented
environment (`sandboxing.PROCESS_ENV_KEPT`), not the app's: API keys and tokens in the app's environment stay there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import uuid
from typing import Any

from aleph_gui.core.errors import (
    HookTimeout,
    PluginCallError,
    PluginNotRunnable,
    RuntimeUnavailable,
    cap_text,
)
from aleph_gui.core.hook_events import claude_event_name
from aleph_gui.core.hook_result import Block, Continue, HookResult, Intercept
from aleph_gui.core.manifest.model import DEFAULT_COMMAND_HOOK_TIMEOUT_MS, Capability
from aleph_gui.core.runtime.base import PluginRuntime, RuntimeContext
from aleph_gui.core.runtime.sandboxing import ProcessSandbox, plugin_policy, process_env, status_sentence
from aleph_gui.core.sandbox import (
    PersistentSandbox,
    SandboxedCommand,
    SandboxError,
    SandboxPolicy,
    SandboxUnavailable,
    sandbox_status,
)

log = logging.getLogger(__name__)

SHELL = "/bin/sh"
OUTPUT_CAP = 256 * 1024  # bytes kept of stdout / stderr; the rest is drained and dropped
_READ_CHUNK = 64 * 1024


async def _read_capped(stream: asyncio.StreamReader | None, cap: int) -> bytes:
    """Read to EOF but keep at most `cap` bytes, so a flooding hook cannot fill memory."""
    if stream is None:
        return b""
    kept = bytearray()
    while True:
        chunk = await stream.read(_READ_CHUNK)
        if not chunk:
            return bytes(kept)
        if len(kept) < cap:
            kept.extend(chunk[: cap - len(kept)])


def _visible(folder: str, policy: SandboxPolicy) -> bool:
    real = os.path.realpath(folder)
    return any(real == p or real.startswith(p + "/")
               for p in (policy.plugin_dir, *policy.read_only, *policy.read_write))


def _kill(proc: Any) -> None:
    """Stop a hook and everything it started (`sh -c 'a | b'`)."""
    if isinstance(proc, SandboxedCommand):
        proc.kill()  # the sandbox signals the command's whole process group
    else:
        _kill_group(proc)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """The hook may have started children (`sh -c 'a | b'`): stop the whole process group."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def hook_input(event: str, data: dict[str, Any], *, session_id: str, cwd: str) -> dict[str, Any]:
    """The JSON a Claude command hook reads on stdin: Claude's fields, plus the event's own data."""
    payload = dict(data)
    payload["hook_event_name"] = claude_event_name(event)
    payload.setdefault("session_id", session_id)
    payload.setdefault("transcript_path", "")
    payload.setdefault("cwd", cwd)
    tool = data.get("tool_name", data.get("tool"))
    if tool is not None:
        payload["tool_name"] = tool
        payload.setdefault("tool_input", data.get("arguments", data.get("input", {})))
    if "prompt" not in payload:
        for key in ("message", "text", "content"):
            if isinstance(data.get(key), str):
                payload["prompt"] = data[key]
                break
    return payload


def decision_from_output(stdout: str, data: dict[str, Any]) -> HookResult:
    """Exit 0: stdout may hold a JSON decision; anything else on stdout means 'continue'."""
    text = stdout.strip()
    if not text.startswith("{"):
        return Continue()
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        return Continue()
    if not isinstance(answer, dict):
        return Continue()
    specific = answer.get("hookSpecificOutput")
    specific = specific if isinstance(specific, dict) else {}
    if answer.get("continue") is False:
        return Block(cap_text(str(answer.get("stopReason") or answer.get("reason") or "stopped by the hook")))
    if answer.get("decision") == "block":
        return Block(cap_text(str(answer.get("reason") or "blocked by the hook")))
    if specific.get("permissionDecision") == "deny":
        return Block(cap_text(str(specific.get("permissionDecisionReason") or answer.get("reason")
                                  or "denied by the hook")))
    updated = specific.get("updatedInput", answer.get("updatedInput"))
    context = specific.get("additionalContext")
    if isinstance(updated, dict) or isinstance(context, str):
        modified = dict(data)
        if isinstance(updated, dict):
            modified["tool_input"] = updated
        if isinstance(context, str) and context:
            modified["additional_context"] = context
        return Intercept(modified)
    return Continue()


class CommandRuntime(PluginRuntime):
    """Runs a Claude plugin's `command` hooks; it has no tools."""

    def __init__(self, ctx: RuntimeContext) -> None:
        super().__init__(ctx)
        self._hooks: dict[str, Capability] = {
            c.handler_name: c for c in ctx.manifest.of_type("hook") if c.details.get("hook_type")
        }
        self._running: set[Any] = set()  # asyncio processes, or commands in the sandbox
        self._session_id = str(uuid.uuid4())
        self._calls = 0
        self._sandbox: PersistentSandbox | None = None
        self._fresh: ProcessSandbox | None = None  # a bwrap per command where a long-lived one cannot start

    async def start(self) -> None:
        if not os.access(SHELL, os.X_OK) and shutil.which("sh") is None:
            raise RuntimeUnavailable(self.plugin_id, "command hooks need /bin/sh, which was not found")
        if not sandbox_status().available:
            return
        policy = plugin_policy(self.plugin_id, self.ctx.root, self.ctx.scope)  # refuses a grant no sandbox gives
        try:
            self._sandbox = await PersistentSandbox.start(policy, log=lambda line: self.ctx.log("warning", line))
        except SandboxUnavailable:
            return
        except SandboxError as exc:
            self.ctx.log("warning", f"a long-lived sandbox could not start ({exc.message}); each hook gets its own")
            self._fresh = ProcessSandbox(policy, log=lambda line: self.ctx.log("warning", line))

    async def stop(self) -> None:
        for proc in list(self._running):
            _kill(proc)
        self._running.clear()
        if self._sandbox is not None:
            await self._sandbox.close()
        if self._fresh is not None:
            await self._fresh.close()

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> Any:
        raise PluginNotRunnable(self.plugin_id, f"has no tool '{tool}': Claude plugins only run command hooks here")

    def status(self) -> dict[str, Any]:
        return {"command_hooks": sum(1 for c in self._hooks.values() if c.details.get("hook_type") == "command"),
                "running": len(self._running), "calls": self._calls,
                "sandbox": status_sentence() if self._sandbox or self._fresh else "not sandboxed: runs as you"}

    def _environment(self, project_dir: str) -> dict[str, str]:
        """The hook's whole environment: the kept variables and the ones Claude Code hooks read."""
        env = process_env()
        env.update(CLAUDE_PLUGIN_ROOT=str(self.ctx.root), CLAUDE_PROJECT_DIR=project_dir,
                   ALEPH_PLUGIN_ID=self.plugin_id)
        return env

    async def run_hook(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> HookResult:
        cap = self._hooks.get(handler)
        if cap is None:
            raise PluginCallError(self.plugin_id, f"has no command hook '{handler}'")
        hook_type = cap.details.get("hook_type")
        if hook_type != "command":
            raise PluginNotRunnable(self.plugin_id, f"{hook_type} hooks are not run by this app")
        name = str(event.get("event", ""))
        raw = event.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        cwd = str(data.get("cwd") or os.getcwd())
        if not os.path.isdir(cwd):
            cwd = os.getcwd()
        stdin = json.dumps(hook_input(name, data, session_id=self._session_id, cwd=cwd)).encode()
        env = self._environment(cwd)
        command = str(cap.details.get("command", ""))  # as written: never spliced with event data
        limit_ms = timeout_ms or cap.timeout_ms or DEFAULT_COMMAND_HOOK_TIMEOUT_MS
        self._calls += 1
        try:
            proc = await self._spawn(command, env, cwd)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the command or a variable
            raise PluginCallError(self.plugin_id, f"could not start the hook command: "
                                                  f"{getattr(exc, 'strerror', None) or exc}") from exc
        self._running.add(proc)
        try:
            out, err = await asyncio.wait_for(self._exchange(proc, stdin), limit_ms / 1000)
        except TimeoutError as exc:
            _kill(proc)
            await proc.wait()
            self.ctx.log("warning", f"command hook {handler} timed out after {limit_ms} ms and was stopped")
            raise HookTimeout(self.plugin_id, f"command hook timed out after {limit_ms} ms and was stopped") from exc
        except BaseException:  # cancelled by the executor or the app shutting down: leave nothing behind
            _kill(proc)
            raise
        finally:
            self._running.discard(proc)
        stderr = err.decode("utf-8", "replace").strip()
        code = proc.returncode
        if code == 2:
            return Block(cap_text(stderr) or "blocked by the hook (exit status 2)")
        if code == 0:
            if stderr:
                self.ctx.log("info", cap_text(stderr))
            return decision_from_output(out.decode("utf-8", "replace"), data)
        first = cap_text(stderr.splitlines()[0], 300) if stderr else "no error output"
        self.ctx.log("error", f"command hook {handler} exited with status {code}: {cap_text(stderr)}")
        raise PluginCallError(self.plugin_id, f"command hook exited with status {code}: {first}")

    async def _spawn(self, command: str, env: dict[str, str], cwd: str) -> Any:
        """The hook's process: in the plugin's long-lived sandbox, in a fresh one, or (no sandbox on this
        system) as the user."""
        argv = [SHELL, "-c", command]
        if self._sandbox is not None:
            # inside, the plugin folder is the working directory unless the project folder was granted
            return await self._sandbox.spawn(argv, env={**self._sandbox.policy.environment, **env},
                                             cwd=cwd if _visible(cwd, self._sandbox.policy) else None)
        if self._fresh is not None:  # the hook's own variables too, as in the long-lived sandbox
            wrapped = await self._fresh.wrap(argv, env)
            return await asyncio.create_subprocess_exec(
                *wrapped, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env={}, start_new_session=True)
        return await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)

    async def _exchange(self, proc: Any, stdin: bytes) -> tuple[bytes, bytes]:
        async def feed() -> None:
            assert proc.stdin is not None
            # A hook that never reads stdin is fine: ignore the broken pipe.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(stdin)
                await proc.stdin.drain()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.close()

        _, out, err = await asyncio.gather(feed(), _read_capped(proc.stdout, OUTPUT_CAP),
                                           _read_capped(proc.stderr, OUTPUT_CAP))
        await proc.wait()
        return out, err
