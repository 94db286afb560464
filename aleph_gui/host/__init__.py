"""The host: the one long-running core of an Aleph home, and the endpoint every client goes through.

Modules (asyncio + stdlib only, never Qt): `lock` (one host per home), `info` (host.json and where the
endpoint lives), `rpc` (NDJSON JSON-RPC framing), `operations` (the table of operations), `server` (the
endpoint), `client` (async client and a tiny blocking one), `hosting` (claim a home, hand over, stop in
order) and `serve` (the headless host, `aleph-ext serve`). This package imports nothing at import time, so
`aleph_gui.host.client` stays light.
"""
