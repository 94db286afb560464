"""The sentences a WASM plugin's failures are told in: loading, starting and calling.

Text that comes from the plugin (its `error_set` message, a bad hook answer) is capped to
`PLUGIN_TEXT_CAP` characters (`errors.cap_text`), so a plugin cannot flood the log, the trace or a dialog.
"""

from __future__ import annotations

import re

from aleph_gui.core.errors import (
    AlephError,
    ManifestError,
    PluginCallError,
    PluginTimeout,
    ScopeDenied,
    cap_text,
)
from aleph_gui.core.runtime.wasm_host import API_OF_FUNCTION, NAMESPACE

OUTPUT_MAX_BYTES = 16 * 1024 * 1024

_UNKNOWN_IMPORT = re.compile(r"unknown import: `([^`]+?)::([^`]+?)` has not been defined")
_TRAP = "error while executing at wasm backtrace"


def mib(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB"


def load_error(plugin_id: str, entry: str, message: str) -> AlephError:
    """Why Extism would not compile or instantiate the module."""
    match = _UNKNOWN_IMPORT.search(message)
    if match:
        module, name = match.groups()
        if module == NAMESPACE and API_OF_FUNCTION.get(name):
            return ScopeDenied(plugin_id, f"plugin imports {name} but was not granted the "
                                          f"'{API_OF_FUNCTION[name]}' API")
        return ManifestError(plugin_id, f"{entry} imports {name} from '{module}', which Aleph does not provide")
    detail = message.removeprefix("Unable to compile Extism plugin: ").splitlines()[0].strip()
    return ManifestError(plugin_id, f"{entry} is not a valid WebAssembly module ({cap_text(detail, 300)})")


def start_error(plugin_id: str, entry: str, message: str, timeout_ms: int, memory_mb: int) -> PluginCallError:
    """Why the module's start-up code (`start`, `_initialize`) failed."""
    if message == "timeout":
        return PluginTimeout(plugin_id, f"{entry} did not finish starting within {timeout_ms} ms and was stopped")
    if message == "oom":
        return PluginCallError(plugin_id, f"{entry} ran out of memory while starting (the limit is {memory_mb} MiB)")
    if message.startswith(_TRAP):
        return PluginCallError(plugin_id, f"{entry} crashed inside WebAssembly while starting (a trap such as "
                                          "'unreachable' or an out-of-bounds access)")
    return PluginCallError(plugin_id, f"{entry} failed while starting: {cap_text(message.strip()) or 'no message'}")


def call_error(plugin_id: str, message: str, what: str, timeout_ms: int, timeout_error: type[PluginTimeout],
               memory_mb: int) -> tuple[PluginCallError, bool]:
    """The error sentence of a failed call, and whether it is a fault (counts toward `failed`) rather
    than the plugin's own error answer (`error_set`, e.g. refusing bad arguments)."""
    if message == "timeout":
        return timeout_error(plugin_id, f"{what} did not finish within {timeout_ms} ms and was stopped"), True
    if message == "oom":
        return PluginCallError(plugin_id, f"{what} ran out of memory (the limit is {memory_mb} MiB)"), True
    if message.startswith(_TRAP):
        return PluginCallError(plugin_id, f"{what} crashed inside WebAssembly (a trap such as 'unreachable' or "
                                          "an out-of-bounds access)"), True
    return PluginCallError(plugin_id, f"{what} failed: {cap_text(message.strip()) or 'no error message'}"), False
