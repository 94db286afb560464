"""Host functions a WASM plugin may import, one set per granted scope.

`extism:host/user` — Aleph's host API, each function linked only when the granted `allowed_apis`
names its API (`kv` -> aleph_kv_get/aleph_kv_set); `aleph_log` and `aleph_now_ms` are always
linked (`time` is not a permission: WASI gives every module clocks and random numbers anyway). A
module that imports a function it was not granted fails to instantiate.

`extism:host/env` — the app's own `http_request` and `http_status_code` replace Extism's builtins
(Extism lets host functions shadow them), so every hop of a redirect is checked against the
granted hosts (`wasm_http.py`).

The functions are generic: they find the calling instance's `GuestBinding` through the Extism host
context of the current call, so one compiled module can be shared by every runtime of the same
plugin version and the functions never go through the Extism SDK's global registry.

ABI (all strings and byte values are Extism memory offsets, i64):
- `aleph_log(level, message)`: level is "debug" | "info" | "warning" | "error".
- `aleph_kv_get(key) -> value`: offset of the stored bytes, 0 when not set (or on a host error).
- `aleph_kv_set(key, value) -> status`: 0 on success, else the offset of an error message.
- `aleph_now_ms() -> ms`: milliseconds since the Unix epoch.
- `http_request(request_json, body) -> body` and `http_status_code() -> i32`: as Extism's.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from extism.extism import CurrentPlugin, Function, ValType
from extism_sys import ffi as _ffi  # type: ignore[import-untyped]

from aleph_gui.core.host_api import HostApi, HostApiError
from aleph_gui.core.runtime.wasm_http import HttpRefused, fetch

log = logging.getLogger(__name__)

NAMESPACE = "extism:host/user"
EXTISM_NAMESPACE = "extism:host/env"

# Which granted API makes which host function importable ("" = always linked).
API_OF_FUNCTION: dict[str, str] = {
    "aleph_log": "",
    "aleph_kv_get": "kv",
    "aleph_kv_set": "kv",
    "aleph_now_ms": "",
}

LOG_LINES_PER_CALL = 1000  # a plugin that floods its log loses the rest of that call's lines

_I64, _I32 = ValType.I64, ValType.I32
# name -> (namespace, parameter types, result types)
_SIGNATURES: dict[str, tuple[str, list[ValType], list[ValType]]] = {
    "aleph_log": (NAMESPACE, [_I64, _I64], []),
    "aleph_kv_get": (NAMESPACE, [_I64], [_I64]),
    "aleph_kv_set": (NAMESPACE, [_I64, _I64], [_I64]),
    "aleph_now_ms": (NAMESPACE, [], [_I64]),
    "http_request": (EXTISM_NAMESPACE, [_I64, _I64], [_I64]),
    "http_status_code": (EXTISM_NAMESPACE, [], [_I32]),
}


class HostErrors:
    """Failed host calls of one runtime (all its instances), shown in the plugin's status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        self.last: str | None = None

    def record(self, message: str) -> None:
        with self._lock:
            self.count += 1
            self.last = message


class GuestBinding:
    """What the host functions of ONE instance see: the plugin's `HostApi`, its granted hosts, and
    the state of the call in progress (an instance runs one call at a time)."""

    def __init__(self, api: HostApi, errors: HostErrors, allowed_hosts: list[str]) -> None:
        self.api = api
        self.plugin_id = api.plugin_id
        self.errors = errors
        self.allowed_hosts = allowed_hosts
        self._log_lines = 0
        self._deadline = 0.0
        self.http_status = 0
        self.refusal: str | None = None  # why the sandbox refused something during this call

    def begin_call(self, timeout_ms: int) -> None:
        """Reset the per-call state (called under the instance lock before each call)."""
        self._log_lines = 0
        self._deadline = time.monotonic() + timeout_ms / 1000
        self.refusal = None

    def log(self, level: str, message: str) -> None:
        self._log_lines += 1
        if self._log_lines > LOG_LINES_PER_CALL:
            if self._log_lines == LOG_LINES_PER_CALL + 1:
                self.api.log("warning", f"more than {LOG_LINES_PER_CALL} log lines in one call; "
                                        "the rest of this call's lines are dropped")
            return
        self.api.log(level, message)

    def http(self, request: bytes, body: bytes | None) -> bytes:
        """Send the plugin's HTTP request; a refusal leaves an empty answer and fails the call."""
        try:
            answer = fetch(request, body, self.allowed_hosts, self._deadline)
        except HttpRefused as exc:
            self.http_status = 0
            self.refusal = str(exc)
            return b""
        self.http_status = answer.status
        return answer.body

    def host_error(self, function: str, exc: BaseException) -> str:
        """Record a failed host function: it is logged on the plugin's channel and counted."""
        message = f"host function {function} failed: {exc}"
        self.errors.record(message)
        log.warning("%s: %s", self.plugin_id, message)
        self.api.log("error", message)
        return message


def _read(plugin: CurrentPlugin, offset: int) -> bytes:
    if offset == 0:
        return b""
    return bytes(plugin.memory(plugin.memory_at_offset(offset)))


def _write(plugin: CurrentPlugin, data: bytes) -> int:
    if not data:
        return 0
    mem = plugin.alloc(len(data))
    plugin.memory(mem)[:] = data
    return int(mem.offset)


def _run(name: str, plugin: CurrentPlugin, args: list[int]) -> int | None:
    guest = plugin.host_context()
    if not isinstance(guest, GuestBinding):
        raise RuntimeError("called outside an Aleph plugin call")
    if name == "aleph_log":
        guest.log(_read(plugin, args[0]).decode(errors="replace"), _read(plugin, args[1]).decode(errors="replace"))
        return None
    if name == "aleph_kv_get":
        value = guest.api.kv_get(_read(plugin, args[0]).decode())
        return _write(plugin, value) if value else 0
    if name == "aleph_kv_set":
        try:
            guest.api.kv_set(_read(plugin, args[0]).decode(), _read(plugin, args[1]))
        except (HostApiError, UnicodeDecodeError) as exc:
            # a refused value is the guest's mistake: tell it why, as the ABI promises
            return _write(plugin, guest.host_error(name, exc).encode())
        return 0
    if name == "aleph_now_ms":
        return guest.api.now_ms()
    if name == "http_request":
        return _write(plugin, guest.http(_read(plugin, args[0]), _read(plugin, args[1]) if args[1] else None))
    if name == "http_status_code":
        return guest.http_status
    raise RuntimeError(f"unknown host function {name}")


def _guest_error_value(name: str, plugin: CurrentPlugin, api: Any, exc: BaseException) -> int:
    """What the guest sees when a host function raised: kv_set gets the message, others 0."""
    message = api.host_error(name, exc) if isinstance(api, GuestBinding) else f"host function {name} failed: {exc}"
    if name == "aleph_kv_set":
        try:
            return _write(plugin, message.encode())
        except Exception:  # noqa: BLE001 - memory may be exhausted; 1 still means "failed"
            return 1
    return 0


@_ffi.callback("void(ExtismCurrentPlugin*, const ExtismVal*, ExtismSize, ExtismVal*, ExtismSize, void*)")
def _dispatch(current: Any, inputs: Any, n_inputs: int, outputs: Any, n_outputs: int, user_data: Any) -> None:
    # Extism swallows anything raised here, so every failure becomes a guest-visible return value.
    name = _ffi.from_handle(user_data)[0]
    plugin = CurrentPlugin(current)
    args = [int(inputs[i].v.i64) for i in range(n_inputs)]
    try:
        result = _run(name, plugin, args)
    except Exception as exc:  # noqa: BLE001 - a host function must never unwind into wasm
        api = None
        try:
            api = plugin.host_context()
        except Exception:  # noqa: BLE001
            log.exception("host function %s: no host context", name)
        result = _guest_error_value(name, plugin, api, exc)
    if n_outputs:
        if name == "http_status_code":
            outputs[0].v.i32 = int(result or 0)
        else:
            outputs[0].v.i64 = int(result or 0)


def host_functions(allowed_apis: list[str]) -> list[Function]:
    """The host functions a plugin granted `allowed_apis` may import (and nothing else)."""
    granted = set(allowed_apis)
    functions = []
    for name, (namespace, params, results) in _SIGNATURES.items():
        api = API_OF_FUNCTION.get(name, "")
        if not api or api in granted:
            functions.append(Function(namespace, name, params, results, _dispatch, name))
    return functions
