"""The one `PluginManifest` model every manifest format parses into."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ModelWrapValidatorHandler, ValidationInfo, model_validator

from aleph_gui.core.manifest.requested import requested_scope
from aleph_gui.core.problems import Problem
from aleph_gui.core.scope import Scope

ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
ID_MAX = 64

# How long one hook handler may take when neither the hook nor `[limits]` says (every runtime).
DEFAULT_HOOK_TIMEOUT_MS = 1_000
# A Claude Code command hook's limit when its `timeout` is not given (Claude Code's own default).
DEFAULT_COMMAND_HOOK_TIMEOUT_MS = 60_000

CapabilityType = Literal[
    "tool", "hook", "channel", "provider", "http_route", "cli", "service",
    "command", "skill", "agent", "mcp_server",
]
CAPABILITY_TYPES: tuple[str, ...] = (
    "tool", "hook", "channel", "provider", "http_route", "cli", "service",
    "command", "skill", "agent", "mcp_server",
)

# Runtime kind: what executes the plugin's code. "claude" = Claude Code plugin (command hooks,
# skills, MCP), "mcp" = only MCP servers, "static" = nothing runs (skills / declarations only).
PluginKind = Literal["wasm", "nodejs", "static", "claude", "mcp"]

# Which file the manifest came from.
ManifestFormat = Literal[
    "aleph-toml", "aleph-json", "package-json", "claude", "claude-layout", "mcp-json",
]

Origin = Literal["project", "user", "builtin"]
ORIGIN_RANK: dict[str, int] = {"project": 0, "user": 1, "builtin": 2}  # lower wins

PluginState = Literal["enabled", "disabled", "needs_review", "invalid", "failed", "crashed", "overridden"]
PLUGIN_STATES: tuple[str, ...] = (
    "enabled", "disabled", "needs_review", "invalid", "failed", "crashed", "overridden",
)


class Capability(BaseModel):
    """One thing a plugin provides. `name` for most types, `event` for hooks."""

    model_config = ConfigDict(extra="forbid")
    type: CapabilityType
    name: str = ""
    event: str = ""
    description: str = ""
    handler: str = ""  # export / registered handler name; empty = same as name
    # hooks
    priority: int = 0  # lower runs first
    hook_kind: Literal["interceptor", "observer"] = "interceptor"
    matcher: str = ""  # tool-name filter (Claude rules: ""/"*" = all, "A|B" = names, else regex)
    fail_closed: bool = False
    timeout_ms: int | None = None
    # tools: JSON schema of the arguments
    parameters: dict[str, Any] | None = None
    # type-specific settings: command hook {"command", "hook_type"}, mcp_server {server config},
    # service {"start_handler", "stop_handler"}, http_route {"method", "path"}, skill/agent/command {"path"}
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.event if self.type == "hook" else self.name

    @property
    def handler_name(self) -> str:
        return self.handler or self.name or self.event


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    memory_mb: int = 16
    tool_timeout_ms: int | None = None  # runtime default when None
    hook_timeout_ms: int | None = None  # DEFAULT_HOOK_TIMEOUT_MS when None


class PluginManifest(BaseModel):
    """A validated manifest. Paths (`entry`) are relative to the plugin folder."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    version: str = "0.0.0"
    description: str = ""
    author: str = ""
    homepage: str = ""
    kind: PluginKind = "static"
    format: ManifestFormat
    manifest_file: str  # relative to the plugin folder, e.g. "aleph.plugin.toml"
    entry: str | None = None
    # Node.js only: "module" = host script calls register(api); "server" = entry is a JSON-RPC server
    node_shape: Literal["module", "server"] = "module"
    activation: Literal["lazy", "startup"] = "lazy"
    capabilities: list[Capability] = Field(default_factory=list)
    scope: Scope = Field(default_factory=Scope)
    limits: Limits = Field(default_factory=Limits)
    config_schema: dict[str, Any] = Field(default_factory=dict)
    config_defaults: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _request_everything_it_can_do(cls, data: Any, handler: ModelWrapValidatorHandler[PluginManifest],
                                      info: ValidationInfo) -> PluginManifest:
        """`scope` becomes everything this manifest can make the app do (`requested.py`), whatever the
        format or whoever built it; file paths are resolved in the plugin folder given as the
        validation context `{"root": folder}` (parsers always give it). A manifest already built (put
        into another model) was derived then and is passed through as it is."""
        if isinstance(data, cls):
            return data
        manifest = handler(data)
        context = info.context if isinstance(info.context, dict) else {}
        manifest.scope = requested_scope(manifest.kind, manifest.capabilities, manifest.scope, context.get("root"))
        return manifest

    def of_type(self, cap_type: str) -> list[Capability]:
        return [c for c in self.capabilities if c.type == cap_type]

    def tool(self, name: str) -> Capability | None:
        # Asked several times per tool call: an index, kept beside the list it was built from (a copy made
        # with other capabilities builds its own).
        cached = self.__dict__.get("_tool_index")
        if cached is None or cached[0] is not self.capabilities:
            index: dict[str, Capability] = {}
            for c in self.capabilities:
                if c.type == "tool":
                    index.setdefault(c.name, c)
            self.__dict__["_tool_index"] = cached = (self.capabilities, index)
        return cached[1].get(name)


class ParseResult(BaseModel):
    """What a parser returns: a manifest when it could build one, and every problem it saw."""

    manifest: PluginManifest | None = None
    problems: list[Problem] = Field(default_factory=list)
    format: ManifestFormat | None = None
    manifest_file: str | None = None
    # id the folder is listed under even when invalid (from the manifest when readable, else the folder)
    fallback_id: str = ""
