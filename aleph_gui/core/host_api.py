"""The host API a plugin's code may call: `log`, `kv`, `time`, `config`, `events` — one implementation.

Each runtime adapts its own ABI onto a `HostApi` bound to one plugin: WASM host functions
(`runtime/wasm_host.py`) call the typed methods; Node.js `api.call(name, args)` requests go through
`call()`. A runtime never sees the state database, only the key/value store of its own plugin.
Which API families a plugin may use is decided by its granted `allowed_apis` (`log` always).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

KV_KEY_MAX = 256  # bytes of a key
KV_VALUE_MAX = 1024 * 1024  # bytes of one value
LOG_MESSAGE_MAX = 8 * 1024  # characters kept of one log line
LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "warning": "warning", "error": "error"}
# Node.js spelling of each call -> the API family that must be granted for it.
CALLS: dict[str, str] = {"log": "log", "kv.get": "kv", "kv.set": "kv", "time.now": "time", "config.get": "config",
                         "events.emit": "events"}
# Calls that wait on the host (they run the hook chain): only `call_async` serves them.
ASYNC_CALLS = frozenset({"events.emit"})
EMITTABLE = frozenset({"message_received", "message_sending", "message_sent", "notification"})

INVALID_ARGUMENTS = -32602
UNKNOWN_API = -32601
SCOPE_DENIED = -32001


class HostApiError(Exception):
    """A host API call the plugin got wrong; `message` is shown to the plugin and in its log."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class KvStore(Protocol):
    """One plugin's own key/value rows (the runtime never gets the database)."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...


class HostApi:
    """log / kv / time / config for one plugin, checked against its granted `allowed_apis`."""

    def __init__(self, plugin_id: str, allowed_apis: list[str], kv: KvStore,
                 config: Callable[[], dict[str, Any]], log: Callable[[str, str], None],
                 emit: Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]] | None = None) -> None:
        self.plugin_id = plugin_id
        self.allowed = frozenset(allowed_apis) | {"log"}
        self._kv = kv
        self._config = config
        self._log = log
        self._emit = emit  # runs an event through the host's hook chain (a channel's incoming message)

    def grants(self, family: str) -> bool:
        return family in self.allowed

    # -- the typed API (WASM host functions call these) ---------------------------------------
    def log(self, level: str, message: str) -> None:
        if len(message) > LOG_MESSAGE_MAX:
            message = message[:LOG_MESSAGE_MAX] + " [truncated]"
        self._log(LOG_LEVELS.get(str(level).strip().lower(), "info"), message)

    def kv_get(self, key: str) -> bytes | None:
        _check_key(key)
        return self._kv.get(key)

    def kv_set(self, key: str, value: bytes) -> None:
        _check_key(key)
        if len(value) > KV_VALUE_MAX:
            raise HostApiError(INVALID_ARGUMENTS, f"value for '{key}' is {len(value)} bytes; "
                                                  f"the limit is {KV_VALUE_MAX} bytes")
        self._kv.set(key, value)

    @staticmethod
    def now_ms() -> int:
        return time.time_ns() // 1_000_000

    def config(self) -> dict[str, Any]:
        """The plugin's settings: manifest defaults overlaid with the user's values."""
        return self._config()

    # -- the JSON API (Node.js `api.call`) ------------------------------------------------------
    async def call_async(self, api: str, args: dict[str, Any]) -> Any:
        """`call`, plus the calls that wait on the host (`events.emit`)."""
        if api not in ASYNC_CALLS:
            return self.call(api, args)
        self._check(api)
        event, data = args.get("event"), args.get("data", {})
        if event not in EMITTABLE or not isinstance(data, dict):
            raise HostApiError(INVALID_ARGUMENTS, f"events.emit needs an 'event' (one of {', '.join(sorted(EMITTABLE))})"
                                                  " and a 'data' object")
        if self._emit is None:
            raise HostApiError(UNKNOWN_API, "events.emit is not available here")
        return await self._emit(event, data)

    def _check(self, api: str) -> None:
        family = CALLS.get(api, api.split(".", 1)[0])
        if family not in self.allowed:
            raise HostApiError(SCOPE_DENIED, f"the host API '{api}' is not allowed for this plugin "
                                             f"(allowed_apis: {', '.join(sorted(self.allowed))})")

    def call(self, api: str, args: dict[str, Any]) -> Any:
        """Run one named call; raises HostApiError (denied, unknown, bad arguments)."""
        self._check(api)
        if api == "log":
            self.log(str(args.get("level", "info")), str(args.get("message", "")))
            return None
        if api in ("kv.get", "kv.set"):
            key = args.get("key")
            if not isinstance(key, str) or not key or len(key.encode()) > KV_KEY_MAX:
                raise HostApiError(INVALID_ARGUMENTS, f"{api} needs a 'key' string of 1 to {KV_KEY_MAX} bytes")
            if api == "kv.get":
                raw = self.kv_get(key)
                return None if raw is None else _json_or_text(raw)
            self.kv_set(key, json.dumps(args.get("value")).encode())
            return None
        if api == "time.now":
            now = time.time()
            return {"unix": now, "iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
        if api == "config.get":
            config = self.config()
            key = args.get("key")
            return config.get(key) if isinstance(key, str) else config
        if api in ASYNC_CALLS:
            raise HostApiError(UNKNOWN_API, f"{api} cannot be called from here")
        raise HostApiError(UNKNOWN_API, f"unknown host API '{api}' (offered: {', '.join(CALLS)})")


def _check_key(key: str) -> None:
    if not key:
        raise HostApiError(INVALID_ARGUMENTS, "kv key is empty")
    if len(key.encode()) > KV_KEY_MAX:
        raise HostApiError(INVALID_ARGUMENTS, f"kv key is longer than {KV_KEY_MAX} bytes")


def _json_or_text(raw: bytes) -> Any:
    """Values written by a Node plugin are JSON; a WASM plugin's raw bytes come back as text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
