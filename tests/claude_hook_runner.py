"""`aleph-ext claude hook` with a chosen Aleph chain, for tests that pipe real Claude payloads into a process.

Usage: python claude_hook_runner.py CHAIN   (CHAIN: continue | guard | rewrite | context | raise | bare)
The chain runs in a real HookExecutor with built-in handlers, the way the in-process fallback will run it.
`bare` answers `continue` without touching the core, to measure the bridge's own imports.
"""

from __future__ import annotations

import sys
from typing import Any

from aleph_gui.gateways import claude_hook

MODE = sys.argv[1]


def guard(data: dict[str, Any]) -> Any:
    from aleph_gui.core.hook_result import Block

    command = str(data.get("arguments", {}).get("command", ""))
    return Block(f"refusing to run {command!r}: it deletes files recursively") if "rm -rf" in command else None


def bail_early(data: dict[str, Any]) -> Any:
    from aleph_gui.core.hook_result import Intercept

    arguments = dict(data["arguments"])
    arguments["command"] = arguments["command"] + " -- --bail"
    return Intercept({**data, "arguments": arguments})


def context(data: dict[str, Any]) -> Any:
    from aleph_gui.core.hook_result import Intercept

    return Intercept({**data, "additional_context": "Le café ☕ est servi: the build runs on staging."})


CHAINS = {"continue": [], "guard": [("safety-guard", guard)], "rewrite": [("bail", bail_early)],
          "context": [("barista", context)]}


def run_chain(event: str, data: dict[str, Any]) -> dict[str, Any]:
    if MODE == "raise":
        raise RuntimeError("the host went away mid-call")
    if MODE == "bare":
        return {"decision": "continue", "data": data, "reason": "", "trace": []}
    import asyncio

    from aleph_gui.core.hooks import HookExecutor, HookHandler

    executor = HookExecutor()
    for plugin, func in CHAINS[MODE]:
        executor.add(HookHandler(plugin_id=plugin, event=event, handler=func.__name__, func=func))
    return asyncio.run(executor.fire(event, data)).to_json()


if __name__ == "__main__":
    sys.exit(claude_hook.run(run_chain))
