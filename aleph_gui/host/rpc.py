"""NDJSON JSON-RPC 2.0: one JSON object per line, UTF-8 (the framing of the Node.js runtime too).

Requests `{"jsonrpc": "2.0", "id", "method", "params"}`; answers carry `result` or `error`
(`{"code", "message", "data"}`); notifications have no id. A line that is not JSON is answered with a
parse error, never raised; a line longer than `MAX_LINE` ends the connection (its framing is lost).

Stdlib only: the blocking client imports this before anything else.
"""

from __future__ import annotations

import json
from typing import Any

MAX_LINE = 64 * 1024 * 1024  # tool inputs and results travel whole; this bounds a runaway writer

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
APP_ERROR = -32000  # an AlephError: `data.type` is its class name, `data.plugin` the plugin it names
HANDING_OVER = -32001  # the host is stopping or handing over: reconnect to the next host and ask again
HOST_STOPPED = -32002  # the host stopped while the request ran (a forced stop): it may have run in part

# The host's last message on a connection it closes cleanly: every request it read has been answered, so a
# request still waiting for an answer was never read — ask it again of the next host.
BYE = "host.bye"

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def encode(message: dict[str, Any]) -> bytes:
    return (_encode(message) + "\n").encode("utf-8")


def request(request_id: int | str, method: str, params: dict[str, Any] | None = None) -> bytes:
    return encode({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})


def result(request_id: Any, value: Any) -> bytes:
    return encode({"jsonrpc": "2.0", "id": request_id, "result": value})


def error(request_id: Any, code: int, message: str, data: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        body["data"] = data
    return encode({"jsonrpc": "2.0", "id": request_id, "error": body})


def notification(method: str, params: dict[str, Any]) -> bytes:
    return encode({"jsonrpc": "2.0", "method": method, "params": params})


class BadMessage(ValueError):
    """A line that is not a JSON-RPC message; `code` and `str()` are the error to answer with."""

    def __init__(self, code: int, message: str, request_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


def decode(line: bytes) -> dict[str, Any]:
    """One line as a message object; raises BadMessage (never anything else) when it is not one."""
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadMessage(PARSE_ERROR, f"the line is not JSON ({exc})") from None
    if not isinstance(message, dict):
        raise BadMessage(INVALID_REQUEST, "a message must be a JSON object")
    return message


def check_request(message: dict[str, Any]) -> tuple[Any, str, dict[str, Any]]:
    """(id, method, params) of a request or notification (id None); raises BadMessage."""
    request_id = message.get("id")
    method = message.get("method")
    if not isinstance(method, str) or not method:
        raise BadMessage(INVALID_REQUEST, "a request needs a 'method' string", request_id)
    params = message.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise BadMessage(INVALID_PARAMS, "'params' must be a JSON object", request_id)
    return request_id, method, params


class RemoteError(Exception):
    """An error answer from the host: `str()` is its sentence, `type` the error class it names."""

    def __init__(self, code: int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data or {}

    @property
    def type(self) -> str:
        return str(self.data.get("type") or "")

    @classmethod
    def of(cls, body: Any) -> RemoteError:
        if not isinstance(body, dict):
            return cls(INTERNAL_ERROR, f"the host answered with a malformed error: {body!r}")
        data = body.get("data")
        return cls(int(body.get("code", INTERNAL_ERROR)), str(body.get("message", "")),
                   data if isinstance(data, dict) else None)
