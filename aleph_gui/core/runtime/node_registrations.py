"""What a module-shape Node.js plugin's code registered, compared with what its manifest declares.

The host script reports registrations in its ready line and later as `$/register` notifications; they
become capabilities here. Those the manifest does not declare are published to the registry through
`ctx.register` (a restarted process that registers less withdraws the rest); declared tools, services
and hooks the code never registers are problems shown on the plugin.
"""

from __future__ import annotations

from typing import Any

from aleph_gui.core.hook_events import normalize_event
from aleph_gui.core.manifest.model import CAPABILITY_TYPES, Capability
from aleph_gui.core.problems import Problem
from aleph_gui.core.problems import error as problem_error
from aleph_gui.core.registry import Undo
from aleph_gui.core.runtime.base import RuntimeContext


class NodeRegistrations:
    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self.registered: dict[tuple[str, str], Capability] = {}  # what the running code registered
        # what this process published to the registry, so a restarted process that registers less
        # withdraws the rest (unloading the plugin withdraws everything: the manager owns the undos)
        self._published: dict[tuple[str, str], Undo] = {}
        self.hook_alias: dict[str, str] = {}  # declared handler -> handler registered by the code
        self.problems: list[Problem] = []

    def capability_of(self, reg: Any) -> Capability | None:
        if not isinstance(reg, dict) or reg.get("type") not in CAPABILITY_TYPES:
            self.ctx.log("warning", f"ignored a registration that is not understood: {str(reg)[:200]}")
            return None
        kind = reg["type"]
        details = reg.get("details")
        parameters = reg.get("parameters")
        try:
            cap = Capability(
                type=kind, name=str(reg.get("name") or ""), description=str(reg.get("description") or ""),
                event=normalize_event(str(reg.get("event") or "")) if kind == "hook" else "",
                handler=str(reg.get("handler") or ""),
                priority=int(reg.get("priority") or 0),
                hook_kind="observer" if reg.get("hook_kind") == "observer" else "interceptor",
                matcher=str(reg.get("matcher") or ""), fail_closed=bool(reg.get("fail_closed")),
                parameters=parameters if isinstance(parameters, dict) else None,
                details=details if isinstance(details, dict) else {},
            )
        except (ValueError, TypeError) as err:
            self.ctx.log("warning", f"ignored an invalid {kind} registration: {err}")
            return None
        if not cap.label:
            self.ctx.log("warning", f"ignored a {kind} registration without a name")
            return None
        return cap

    def replace(self, regs: list[Any]) -> None:
        """What a freshly started process registered (its ready line)."""
        registered: dict[tuple[str, str], Capability] = {}
        for reg in regs:
            cap = self.capability_of(reg)
            if cap is not None:
                registered.setdefault((cap.type, cap.label), cap)
        self.registered = registered
        self.check_declared()

    def add(self, reg: Any) -> Capability | None:
        """One registration made after the start (`$/register`); the new capability, or None."""
        cap = self.capability_of(reg)
        if cap is None or (cap.type, cap.label) in self.registered:
            return None
        self.registered[(cap.type, cap.label)] = cap
        self.check_declared()
        self.publish()
        return cap

    def publish(self) -> None:
        # What the manifest declares is in the registry already; only code-only ones are new.
        declared = {(c.type, c.label) for c in self.ctx.manifest.capabilities}
        for key, cap in self.registered.items():
            if key not in self._published and key not in declared:
                self._published[key] = self.ctx.register(cap)
        for key in [k for k in self._published if k not in self.registered]:
            self._published.pop(key)()

    def clear(self) -> None:
        self._published.clear()
        self.registered.clear()

    def check_declared(self) -> None:
        problems: list[Problem] = []
        self.hook_alias.clear()
        manifest = self.ctx.manifest
        for i, cap in enumerate(manifest.capabilities):
            if cap.type in ("tool", "service") and (cap.type, cap.name) not in self.registered:
                problems.append(problem_error(
                    manifest.manifest_file, f"capabilities[{i}]",
                    f"the {cap.type} '{cap.name}' is declared in the manifest but the plugin's code "
                    "never registers it"))
            elif cap.type == "hook":
                hooks = [c for c in self.registered.values() if c.type == "hook" and c.event == cap.event]
                match = next((h for h in hooks if h.handler == cap.handler_name), hooks[0] if hooks else None)
                if match is None:
                    problems.append(problem_error(
                        manifest.manifest_file, f"capabilities[{i}]",
                        f"the hook on '{cap.event}' is declared in the manifest but the plugin's code "
                        "never registers a handler for it"))
                else:
                    self.hook_alias[cap.handler_name] = match.handler_name
        for problem in problems:
            if problem not in self.problems:
                self.ctx.log("error", problem.message)
        self.problems = problems
