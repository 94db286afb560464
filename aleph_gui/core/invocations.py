"""What plugins register besides tools, made to do something: CLI entries (`aleph-ext run`), chat
commands, providers (answer a prompt), channels (send a message) and HTTP routes.

Each is a handler called like a tool handler with a JSON payload; its answer is shaped for its kind
here, and each run is traced like a tool's own run (event `cli`, `command`, `provider`, `channel`,
`http_route`), so it shows in the live hook log and the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aleph_gui.core.errors import PluginCallError, PluginNotRunnable
from aleph_gui.core.hooks import HookExecutor
from aleph_gui.core.loader import LoadedPlugin
from aleph_gui.core.manifest.model import Capability
from aleph_gui.core.registry import PluginRegistry

WORDS = {"cli": ("CLI entry", "CLI entries"), "http_route": ("HTTP route", "HTTP routes"),
         "command": ("command", "commands"), "provider": ("provider", "providers"), "channel": ("channel", "channels")}


@dataclass(frozen=True)
class CliOutcome:
    stdout: str
    stderr: str
    exit_code: int

    def to_json(self) -> dict[str, Any]:
        return {"stdout": self.stdout, "stderr": self.stderr, "exit_code": self.exit_code}


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "headers": self.headers, "body": self.body.decode(errors="replace")}


def declared(registry: PluginRegistry, plugin_id: str, kind: str, name: str) -> Capability:
    """The capability of that kind and name, declared in the manifest or registered by the running code."""
    entries = registry.entries(kind, plugin_id)
    for reg in entries:
        if reg.name == name:
            return reg.capability
    one, many = WORDS.get(kind, (kind, kind + "s"))
    raise PluginCallError(plugin_id, f"has no {one} named '{name}' (its {many}: "
                                     f"{', '.join(sorted({r.name for r in entries})) or 'none'})")


async def invoke(version: LoadedPlugin, registry: PluginRegistry, hooks: HookExecutor, kind: str, name: str,
                 payload: dict[str, Any], client: str) -> Any:
    """Run one handler; traced like a tool's own run."""
    cap = declared(registry, version.manifest.id, kind, name)
    runtime = version.runtime
    if runtime is None or not hasattr(runtime.inner, "call_handler"):
        raise PluginNotRunnable(version.manifest.id, f"declares the {WORDS.get(kind, (kind,))[0]} '{name}' but has "
                                                     "no code that can run it")
    answer, _ = await hooks.traced_run(kind, version.manifest.id, name, client,
                                       runtime.inner.call_handler(kind, cap.name, payload))
    return answer


def cli_outcome(answer: Any) -> CliOutcome:
    """A CLI handler answers `{stdout, stderr, exit_code}`, or text (its output), or any JSON (printed)."""
    if isinstance(answer, dict) and {"stdout", "stderr", "exit_code"} & set(answer):
        code = answer.get("exit_code", 0)
        return CliOutcome(_text(answer.get("stdout")), _text(answer.get("stderr")),
                          code if isinstance(code, int) and not isinstance(code, bool) and 0 <= code < 256 else 1)
    if answer is None:
        return CliOutcome("", "", 0)
    return CliOutcome(answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False), "", 0)


def provider_text(plugin_id: str, answer: Any) -> str:
    """A provider answers `{text}` (or `{content}`), or the text itself."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, dict):
        for key in ("text", "content", "answer"):
            if isinstance(answer.get(key), str):
                return answer[key]  # type: ignore[no-any-return]
    raise PluginCallError(plugin_id, "the provider's answer has no text (expected a string or {\"text\": ...})")


def http_answer(plugin_id: str, answer: Any) -> HttpAnswer:
    """A route answers `{status, headers, body}`: a string body as is, any other JSON value as JSON."""
    if not isinstance(answer, dict) or "body" not in answer and "status" not in answer:
        answer = {"status": 200, "body": answer}
    status = answer.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise PluginCallError(plugin_id, f"the route answered the status {status!r}; expected a number 100-599")
    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()} \
        if isinstance(answer.get("headers"), dict) else {}
    body = answer.get("body", "")
    if isinstance(body, str):
        headers.setdefault("content-type", "text/plain; charset=utf-8")
        return HttpAnswer(status, headers, body.encode())
    headers["content-type"] = "application/json"
    return HttpAnswer(status, headers, json.dumps(body, ensure_ascii=False).encode())


def route_of(registry: PluginRegistry, plugin_id: str, method: str, path: str) -> str | None:
    """The name of the plugin's HTTP route that answers `method path` (exact path; `*` matches any method)."""
    wanted = "/" + path.strip("/")
    for reg in registry.entries("http_route", plugin_id):
        details = reg.capability.details
        route_path = "/" + str(details.get("path", reg.name)).strip("/")
        route_method = str(details.get("method", "GET")).upper()
        if route_path == wanted and route_method in (method.upper(), "*", "ANY"):
            return reg.name
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, ensure_ascii=False)
