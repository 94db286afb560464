"""HTTP for WASM plugins, sent by the app so that every hop is checked against the granted hosts.

Extism's own `http_request` checks only the first URL and then follows redirects to any host, so
a granted host could hand a plugin on to one that was never approved. The app links its own
`extism:host/env::http_request` instead (see `wasm_host.py`); it takes the same request JSON
(`{"url", "method", "headers"}` plus an optional body), matches each host the way Extism does (glob
patterns: `*`, `?`, `[...]`), and follows at most `MAX_REDIRECTS` redirects, each one only to a
granted host. A request or redirect to any other host is never sent.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 5
RESPONSE_MAX_BYTES = 50 * 1024 * 1024  # what Extism's own http_request reads at most
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MIN_WAIT_S = 0.05
_CHUNK = 64 * 1024


class HttpRefused(Exception):
    """The request was not sent (or not followed); the message completes "tool 'x' ..."."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Extism's rule: the URL's host matches one granted host pattern."""
    return any(fnmatchcase(host, pattern) for pattern in allowed)


def _limit_text(allowed: Sequence[str]) -> str:
    return f"network access is limited to {', '.join(allowed)}" if allowed else "network access is not granted"


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def _request_fields(raw: bytes) -> tuple[str, str, dict[str, str]]:
    try:
        req = json.loads(raw)
    except ValueError:
        raise HttpRefused("sent an HTTP request that is not JSON") from None
    url = req.get("url") if isinstance(req, dict) else None
    if not isinstance(url, str):
        raise HttpRefused("sent an HTTP request without a 'url'")
    method = req.get("method") or "GET"
    headers = req.get("headers") or {}
    if not isinstance(method, str) or not isinstance(headers, dict):
        raise HttpRefused("sent an HTTP request whose 'method' or 'headers' is malformed")
    # the app sets Host from the URL it checked; a plugin's own Host header could name another site
    return url, method.upper(), {str(k): str(v) for k, v in headers.items() if str(k).lower() != "host"}


def _host_of(url: str) -> tuple[str, str]:
    """(scheme, host as Extism shows it: IPv6 in brackets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise HttpRefused(f"asked for {url[:200]}, which is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise HttpRefused(f"asked for {url[:200]}; only http and https URLs with a host are allowed")
    return parts.scheme, f"[{host}]" if ":" in host else host


def _send(url: str, method: str, headers: dict[str, str], body: bytes | None,
          deadline: float) -> tuple[int, str | None, bytes]:
    parts = urlsplit(url)
    wait = max(_MIN_WAIT_S, deadline - time.monotonic())
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=wait, context=_tls())
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=wait)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        if resp.status in _REDIRECTS and resp.getheader("Location"):
            return resp.status, resp.getheader("Location"), b""
        data = _read_body(resp, url, deadline)
    finally:
        conn.close()
    return resp.status, None, data


def _read_body(resp: http.client.HTTPResponse, url: str, deadline: float) -> bytes:
    """The body, within the call's time limit (a server sending slowly cannot hold the call)."""
    chunks, size = [], 0
    while chunk := resp.read1(_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > RESPONSE_MAX_BYTES:
            raise HttpRefused(f"got more than {RESPONSE_MAX_BYTES // (1024 * 1024)} MiB from {url[:200]}")
        if time.monotonic() > deadline:
            raise HttpRefused(f"was still receiving {url[:200]} when its time limit ran out")
    return b"".join(chunks)


def fetch(raw_request: bytes, body: bytes | None, allowed: Sequence[str], deadline: float) -> HttpAnswer:
    """Send the plugin's request, following redirects only to granted hosts."""
    url, method, headers = _request_fields(raw_request)
    previous = ""
    for _ in range(MAX_REDIRECTS + 1):
        _scheme, host = _host_of(url)
        if not host_allowed(host, allowed):
            if previous:
                raise HttpRefused(f"was redirected from {previous} to {host}, which is not a granted host "
                                  f"({_limit_text(allowed)}); the redirect was not followed")
            raise HttpRefused(f"asked for {url[:200]}, but {_limit_text(allowed)}; the request was not sent")
        try:
            status, location, data = _send(url, method, headers, body, deadline)
        except (OSError, http.client.HTTPException) as exc:
            raise HttpRefused(f"could not reach {url[:200]}: {exc or type(exc).__name__}") from None
        if location is None:
            return HttpAnswer(status, data)
        if status == 303 or (status in (301, 302) and method not in ("GET", "HEAD")):
            method, body = "GET", None  # what browsers and Extism's HTTP client do
        previous, url = host, urljoin(url, location)
    raise HttpRefused(f"was redirected more than {MAX_REDIRECTS} times; the last redirect was not followed")
