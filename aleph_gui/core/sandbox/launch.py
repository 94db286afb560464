"""One long-running process in its own fresh sandbox (a Node plugin, an MCP stdio server).

`await SandboxedProcess.start(policy, argv, log=...)` starts the filtering proxy when the policy
grants a host list, wraps `argv` in bwrap and spawns it with asyncio; `process` is the ordinary
`asyncio.subprocess.Process` (stdin/stdout/stderr pipes by default). `await aclose()` kills the
process if it still runs and stops the proxy; call it when the process has exited too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from aleph_gui.core.sandbox.bwrap import build_argv
from aleph_gui.core.sandbox.errors import SandboxUnavailable
from aleph_gui.core.sandbox.policy import SandboxPolicy
from aleph_gui.core.sandbox.proxy import FilteringProxy
from aleph_gui.core.sandbox.status import SandboxStatus, sandbox_status

PIPE = asyncio.subprocess.PIPE


class SandboxedProcess:
    def __init__(self, process: asyncio.subprocess.Process, proxy: FilteringProxy | None) -> None:
        self.process = process
        self.proxy = proxy

    @classmethod
    async def start(
        cls,
        policy: SandboxPolicy,
        argv: Sequence[str],
        *,
        log: Callable[[str], None] | None = None,
        status: SandboxStatus | None = None,
        stdin: int | None = PIPE,
        stdout: int | None = PIPE,
        stderr: int | None = PIPE,
        **kwargs: Any,
    ) -> SandboxedProcess:
        """Raises SandboxUnavailable when this system has no sandbox (nothing is started then).
        `log` receives the proxy's refusals; extra keyword arguments go to asyncio (e.g. `limit`)."""
        status = status or sandbox_status()
        if not status.available:
            raise SandboxUnavailable(policy.plugin_id, status.sentence)
        proxy = None
        if policy.network == "hosts":
            proxy = await FilteringProxy.start(policy.plugin_id, policy.hosts, on_refused=log)
        try:
            argv = build_argv(policy, argv, proxy_socket=proxy.socket_path if proxy else None, status=status)
            process = await asyncio.create_subprocess_exec(*argv, stdin=stdin, stdout=stdout, stderr=stderr,
                                                           **kwargs)
        except BaseException:
            if proxy is not None:
                await proxy.close()
            raise
        return cls(process, proxy)

    async def aclose(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()  # bwrap's death ends everything inside (--die-with-parent)
            await self.process.wait()
        if self.proxy is not None:
            await self.proxy.close()
            self.proxy = None
