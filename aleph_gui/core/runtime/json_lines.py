"""One JSON-RPC message per line: written and read with orjson (a call's encoding and decoding are a
third of its cost in Python), with the standard library for what orjson refuses."""

from __future__ import annotations

import json
from typing import Any

import orjson

# The standard encoder for what orjson will not write (integers past 64 bits, keys that are not strings).
_encode = json.JSONEncoder(separators=(",", ":")).encode


def line_of(message: dict[str, Any]) -> bytes:
    """A message as one line, newline included."""
    try:
        return orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return (_encode(message) + "\n").encode()


def decoded(raw: bytes) -> Any:
    """A line as JSON; what orjson refuses is read by the standard decoder, so its errors (ValueError,
    RecursionError for JSON nested too deeply) stay the ones callers handle."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
