"""Network grants: no network, a host allow-list through the filtering proxy, what the user is told.

The proxy is the enforcement point, so it is tested directly (raw proxy requests on its socket) and
from inside real sandboxes: Python's urllib through HTTP(S)_PROXY and the in-sandbox bridge, and
Node's built-in fetch, http and https through the preload. Local servers stand in for remote
hosts: `localhost` and `127.0.0.1` granted literally reach them; everything else must be refused.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_support import (
    make_layout,
    needs_node,
    needs_sandbox,
    needs_system_python,
    python,
    run_fresh,
    run_persistent,
)

from aleph_gui.core.sandbox import (
    INSIDE_NODE_PRELOAD,
    FilteringProxy,
    HostRules,
    PersistentSandbox,
    SandboxPolicy,
    SandboxPolicyError,
    SandboxStatus,
    default_env,
    network_enforcement,
)


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str]]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.seen.append((self.path, self.headers.get("Host", "")))  # type: ignore[attr-defined]
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_web(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An HTTPS server for `localhost` with a self-signed certificate; yields (port, cert file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen = []  # type: ignore[attr-defined]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


async def proxy_exchange(proxy: FilteringProxy, request: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(proxy.socket_path)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


# --- which hosts a grant covers -----------------------------------------------------------

def test_host_rules_match_exact_names_and_subdomain_wildcards() -> None:
    rules = HostRules.of(["API.Example.com.", "*.cdn.example.net", "10.0.0.7", "[::1]"])
    assert rules.match("api.example.com") == "api.example.com"
    assert rules.match("API.EXAMPLE.COM.") == "api.example.com"
    assert rules.match("a.b.cdn.example.net") == "*.cdn.example.net"
    assert rules.match("cdn.example.net") is None  # a wildcard covers subdomains, not the name itself
    assert rules.match("evilcdn.example.net") is None
    assert rules.match("example.com") is None
    assert rules.match("10.0.0.7") == "10.0.0.7"
    assert rules.match("0:0:0:0:0:0:0:1") == "::1"
    assert rules.match("10.0.0.8") is None


def test_ip_addresses_match_only_literal_grants() -> None:
    rules = HostRules.of(["*.example.com"])
    assert rules.match("127.0.0.1") is None
    assert rules.match("::1") is None


@pytest.mark.parametrize("bad", ["*", "https://api.example.com", "api.example.com:443", "a/b", "*.*.com",
                                 "", "ex ample.com", "api..example.com"])
def test_invalid_host_grants_are_refused_with_a_sentence(bad: str, tmp_path: Path) -> None:
    with pytest.raises(SandboxPolicyError) as err:
        SandboxPolicy.build("p", tmp_path, network="hosts", hosts=[bad])
    assert str(err.value).startswith("p: ")


def test_hosts_without_network_hosts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SandboxPolicyError, match="only with network 'hosts'"):
        SandboxPolicy.build("p", tmp_path, network="none", hosts=["api.example.com"])


# --- the proxy itself ---------------------------------------------------------------------

async def test_proxy_tunnels_to_a_granted_host_and_refuses_others(web: http.server.ThreadingHTTPServer) -> None:
    port = web.server_address[1]
    refusals: list[str] = []
    async with await FilteringProxy.start("net-test", ["127.0.0.1"], on_refused=refusals.append) as proxy:
        ok = await proxy_exchange(proxy, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"
                                         f"GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        assert ok.startswith(b"HTTP/1.1 200 Connection Established")
        assert b"hello /tunnel" in ok
        no = await proxy_exchange(proxy, f"CONNECT localhost:{port} HTTP/1.1\r\n\r\n".encode())
    assert no.startswith(b"HTTP/1.1 403")
    assert b"net-test may not connect to localhost" in no and b"granted hosts: 127.0.0.1" in no
    assert len(refusals) == 1 and "localhost" in refusals[0]
    assert web.seen == [("/tunnel", "x")]  # type: ignore[attr-defined]


async def test_proxy_forwards_absolute_form_requests_with_the_checked_host(
        web: http.server.ThreadingHTTPServer) -> None:
    port = web.server_address[1]
    async with await FilteringProxy.start("net-test", ["localhost"]) as proxy:
        ok = await proxy_exchange(proxy, f"GET http://localhost:{port}/a?b=1 HTTP/1.1\r\n"
                                         f"Host: evil.example\r\nProxy-Connection: keep-alive\r\n\r\n".encode())
        no = await proxy_exchange(proxy, f"GET http://127.0.0.1:{port}/x HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert ok.startswith(b"HTTP/1.0 200") or ok.startswith(b"HTTP/1.1 200")
    assert ok.endswith(b"hello /a?b=1")
    assert no.startswith(b"HTTP/1.1 403")
    # the origin server saw the host the proxy checked, not the one the plugin wrote
    assert web.seen == [("/a?b=1", f"localhost:{port}")]  # type: ignore[attr-defined]


@pytest.mark.parametrize("request_line", [b"GET / HTTP/1.1\r\n\r\n", b"hello\r\n\r\n",
                                          b"CONNECT nowhere HTTP/1.1\r\n\r\n", b"GET ftp://x/ HTTP/1.1\r\n\r\n"])
async def test_proxy_answers_malformed_requests_with_400(request_line: bytes) -> None:
    async with await FilteringProxy.start("net-test", ["localhost"]) as proxy:
        answer = await proxy_exchange(proxy, request_line)
    assert answer.startswith(b"HTTP/1.1 400")


async def test_a_granted_name_that_resolves_to_this_computer_is_refused() -> None:
    """DNS rebinding: the plugin's own domain pointed at 127.0.0.1 must not reach local services."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    port = server.getsockname()[1]

    async def attacker_dns(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    refusals: list[str] = []
    try:
        async with await FilteringProxy.start("net-test", ["*.attacker.example"], resolver=attacker_dns,
                                              on_refused=refusals.append) as proxy:
            answer = await proxy_exchange(proxy, f"CONNECT api.attacker.example:{port} HTTP/1.1\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 403")
        assert b"resolves to this computer (127.0.0.1)" in answer
        assert refusals and "api.attacker.example" in refusals[0]
        with pytest.raises(TimeoutError):
            server.accept()  # nobody connected
    finally:
        server.close()


async def test_proxy_close_removes_its_socket() -> None:
    proxy = await FilteringProxy.start("net-test", ["localhost"])
    folder = Path(proxy.socket_path).parent
    assert Path(proxy.socket_path).exists()
    await proxy.close()
    assert not folder.exists()


# --- from inside real sandboxes -----------------------------------------------------------

def urllib_get(url: str, cafile: Path | None = None) -> list[str]:
    context = f"ssl.create_default_context(cafile={str(cafile)!r})" if cafile else "None"
    return python(f"""
import json, ssl, urllib.request, urllib.error
try:
    body = urllib.request.urlopen({url!r}, timeout=20, context={context}).read().decode()
    print(json.dumps({{'ok': body}}))
except urllib.error.HTTPError as err:
    print(json.dumps({{'status': err.code, 'body': err.read().decode()}}))
except OSError as err:
    print(json.dumps({{'error': str(err)}}))
""")


@needs_sandbox
@needs_system_python
@pytest.mark.parametrize("mode", ["fresh", "persistent"])
async def test_programs_reach_granted_hosts_through_the_proxy_only(
        mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, web: http.server.ThreadingHTTPServer) -> None:
    layout = make_layout(tmp_path, monkeypatch)
    port = web.server_address[1]
    policy = layout.policy(network="hosts", hosts=["localhost"])
    refusals: list[str] = []
    if mode == "fresh":
        allowed = await run_fresh(policy, urllib_get(f"http://localhost:{port}/granted"), log=refusals.append)
        refused = await run_fresh(policy, urllib_get(f"http://127.0.0.1:{port}/refused"), log=refusals.append)
    else:
        async with await PersistentSandbox.start(policy, log=refusals.append) as sandbox:
            allowed = await run_persistent(sandbox, urllib_get(f"http://localhost:{port}/granted"))
            refused = await run_persistent(sandbox, urllib_get(f"http://127.0.0.1:{port}/refused"))
    assert allowed.json() == {"ok": "hello /granted"}
    assert refused.json()["status"] == 403
    assert "escape-test may not connect to 127.0.0.1" in refused.json()["body"]
    assert any("127.0.0.1" in line for line in refusals)  # the plugin's log says what was refused
    assert [path for path, _ in web.seen] == ["/granted"]  # type: ignore[attr-defined]


@needs_sandbox
@needs_system_python
async def test_https_is_tunnelled_to_a_granted_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    tls_web: tuple[int, Path]) -> None:
    layout = make_layout(tmp_path, monkeypatch)
    port, cert = tls_web
    shutil.copy(cert, layout.plugin / "ca.pem")
    policy = layout.policy(network="hosts", hosts=["localhost"])
    ran = await run_fresh(policy, urllib_get(f"https://localhost:{port}/secure", cafile=layout.plugin / "ca.pem"))
    assert ran.json() == {"ok": "hello /secure"}


NODE_CLIENTS = r"""
const http = require('http'), https = require('https');
const get = (mod, url) => new Promise((resolve) => {
  mod.get(url, (res) => { let b = ''; res.on('data', (d) => b += d); res.on('end', () => resolve(`${res.statusCode} ${b}`)); })
     .on('error', (e) => resolve(`error ${e.message}`));
});
const viaFetch = (url) => fetch(url).then(async (r) => `${r.status} ${await r.text()}`,
                                          (e) => `error ${e.cause ? e.cause.message : e.message}`);
(async () => {
  const [allowedUrl, refusedUrl, secureUrl] = process.argv.slice(2);
  const out = {
    fetch: await viaFetch(allowedUrl), fetchRefused: await viaFetch(refusedUrl),
    http: await get(http, allowedUrl), httpRefused: await get(http, refusedUrl),
  };
  if (secureUrl) { out.fetchTls = await viaFetch(secureUrl); out.httpsTls = await get(https, secureUrl); }
  console.log(JSON.stringify(out));
})();
"""


@needs_sandbox
@needs_node
async def test_node_fetch_and_http_reach_exactly_the_granted_host(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, web: http.server.ThreadingHTTPServer,
        tls_web: tuple[int, Path]) -> None:
    layout = make_layout(tmp_path, monkeypatch)
    (layout.plugin / "clients.js").write_text(NODE_CLIENTS)
    shutil.copy(tls_web[1], layout.plugin / "ca.pem")
    port = web.server_address[1]
    env = {**default_env(), "NODE_EXTRA_CA_CERTS": str(layout.plugin / "ca.pem")}
    policy = layout.policy(network="hosts", hosts=["localhost"], env=env)
    # Node's permission model stays on as the inner layer; the preload must be readable under it.
    argv = ["node", "--experimental-permission", f"--allow-fs-read={layout.plugin}",
            f"--allow-fs-read={INSIDE_NODE_PRELOAD}", str(layout.plugin / "clients.js"),
            f"http://localhost:{port}/node", f"http://127.0.0.1:{port}/nope", f"https://localhost:{tls_web[0]}/tls"]
    ran = await run_fresh(policy, argv)
    out = json.loads(ran.out)
    assert out["fetch"] == "200 hello /node"
    assert out["http"] == "200 hello /node"
    assert out["fetchTls"] == "200 hello /tls"
    assert out["httpsTls"] == "200 hello /tls"
    for refused in (out["fetchRefused"], out["httpRefused"]):
        assert "escape-test may not connect to 127.0.0.1" in refused
    assert "/nope" not in [path for path, _ in web.seen]  # type: ignore[attr-defined]


@needs_sandbox
@needs_node
async def test_node_without_a_host_grant_has_no_network_at_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, web: http.server.ThreadingHTTPServer) -> None:
    layout = make_layout(tmp_path, monkeypatch)
    (layout.plugin / "clients.js").write_text(NODE_CLIENTS)
    port = web.server_address[1]
    ran = await run_fresh(layout.policy(), ["node", str(layout.plugin / "clients.js"),
                                            f"http://127.0.0.1:{port}/a", f"http://localhost:{port}/b"])
    out = json.loads(ran.out)
    assert all(value.startswith("error") for value in out.values()), out
    assert web.seen == []  # type: ignore[attr-defined]


# --- what the user is told ----------------------------------------------------------------

def test_network_enforcement_tells_the_truth(tmp_path: Path) -> None:
    up = SandboxStatus(True, bwrap="/usr/bin/bwrap", version="0.8.0")
    down = SandboxStatus(False, "bubblewrap is not installed (apt install bubblewrap)")
    none = SandboxPolicy.build("p", tmp_path)
    hosts = SandboxPolicy.build("p", tmp_path, network="hosts", hosts=["api.example.com"])
    anywhere = SandboxPolicy.build("p", tmp_path, network="any")
    assert network_enforcement(none, up).enforced
    assert "no network" in network_enforcement(none, up).sentence
    assert network_enforcement(hosts, up).enforced
    assert "only api.example.com" in network_enforcement(hosts, up).sentence
    assert "any host" in network_enforcement(anywhere, up).sentence
    for policy in (none, hosts, anywhere):
        result = network_enforcement(policy, down)
        assert not result.enforced
        assert "not sandboxed on this system: bubblewrap is not installed" in result.sentence
