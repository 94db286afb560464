"""Host functions a WASM plugin may import from `extism:host/user`, one set per granted scope.

Each function is handed to Extism only when the plugin's granted `allowed_apis` names its API
(`log` -> aleph_log, `kv` -> aleph_kv_get/aleph_kv_set, `time` -> aleph_now_ms). A module that
imports a function it was not granted therefore fails to instantiate.

The functions are generic: they find the calling plugin's `GuestBinding` through the Extism host
context of the current call, so one compiled module can be shared by every runtime of the same
plugin version and the functions never go through the Extism SDK's global registry.

ABI (all strings and byte values are Extism memory offsets, i64):
- `aleph_log(level, message)`: level is "debug" | "info" | "warning" | "error".
- `aleph_kv_get(key) -> value`: offset of the stored bytes, 0 when not set (or on a host error).
- `aleph_kv_set(key, value) -> status`: 0 on success, else the offset of an error message.
- `aleph_now_ms() -> ms`: milliseconds since the Unix epoch.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from extism.extism import CurrentPlugin, Function, ValType
from extism_sys import ffi as _ffi  # type: ignore[import-untyped]

from aleph_gui.core.host_api import HostApi, HostApiError

log = logging.getLogger(__name__)

NAMESPACE = "extism:host/user"

# Which granted API makes which host function importable.
API_OF_FUNCTION: dict[str, str] = {
    "aleph_log": "log",
    "aleph_kv_get": "kv",
    "aleph_kv_set": "kv",
    "aleph_now_ms": "time",
}

LOG_LINES_PER_CALL = 1000  # a plugin that floods its log loses the rest of that call's lines

_I64 = ValType.I64
# name -> (parameter types, result types)
_SIGNATURES: dict[str, tuple[list[ValType], list[ValType]]] = {
    "aleph_log": ([_I64, _I64], []),
    "aleph_kv_get": ([_I64], [_I64]),
    "aleph_kv_set": ([_I64, _I64], [_I64]),
    "aleph_now_ms": ([], [_I64]),
}


class GuestBinding:
    """The host API as the WASM host functions see it: the plugin's `HostApi`, plus a per-call
    log budget and a count of failed host calls (shown in the plugin's status)."""

    def __init__(self, api: HostApi) -> None:
        self.api = api
        self.plugin_id = api.plugin_id
        self._lock = threading.Lock()
        self._log_lines = 0
        self.host_errors = 0
        self.last_host_error: str | None = None

    def begin_call(self) -> None:
        """Reset the per-call log budget (called under the instance lock before each call)."""
        self._log_lines = 0

    def log(self, level: str, message: str) -> None:
        self._log_lines += 1
        if self._log_lines > LOG_LINES_PER_CALL:
            if self._log_lines == LOG_LINES_PER_CALL + 1:
                self.api.log("warning", f"more than {LOG_LINES_PER_CALL} log lines in one call; "
                                        "the rest of this call's lines are dropped")
            return
        self.api.log(level, message)

    def host_error(self, function: str, exc: BaseException) -> str:
        """Record a failed host function: it is logged on the plugin's channel and counted."""
        message = f"host function {function} failed: {exc}"
        with self._lock:
            self.host_errors += 1
            self.last_host_error = message
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
        outputs[0].v.i64 = int(result or 0)


def host_functions(allowed_apis: list[str]) -> list[Function]:
    """The host functions a plugin granted `allowed_apis` may import (and nothing else)."""
    granted = set(allowed_apis) | {"log"}
    functions = []
    for name, api in API_OF_FUNCTION.items():
        if api in granted:
            params, results = _SIGNATURES[name]
            functions.append(Function(NAMESPACE, name, params, results, _dispatch, name))
    return functions
