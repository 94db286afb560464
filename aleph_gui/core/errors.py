"""Typed errors. Each carries the plugin id so the UI and CLI can say whose fault it is in one sentence."""

from __future__ import annotations


class AlephError(Exception):
    """Base class: `str(err)` is the sentence shown to the user."""

    def __init__(self, plugin_id: str | None, message: str) -> None:
        super().__init__(message)
        self.plugin_id = plugin_id
        self.message = message

    def __str__(self) -> str:
        return f"{self.plugin_id}: {self.message}" if self.plugin_id else self.message


class ManifestError(AlephError):
    """The manifest could not be read or is invalid."""


class UnknownPlugin(AlephError):
    """No plugin with that id was discovered."""


class ScopeDenied(AlephError):
    """The plugin asked for something its granted scope does not allow (or was never approved)."""


class ReviewRequired(ScopeDenied):
    """The plugin's requested scope has not been approved: run `aleph-ext grant ID`."""


class PluginNotRunnable(AlephError):
    """The plugin is disabled, invalid, overridden or has no runtime."""


class PluginCallError(AlephError):
    """A tool or hook handler failed inside the plugin (trap, exception, bad output)."""


class RouteNotFound(PluginCallError):
    """The plugin has no HTTP route for that method and path."""


class PluginTimeout(PluginCallError):
    """A call ran past its time limit and was stopped."""


class HookTimeout(PluginTimeout):
    """A hook handler ran past its time limit."""


class PluginCrashed(PluginCallError):
    """The plugin's process exited while calls were in flight."""


class PluginFailed(AlephError):
    """The plugin failed too often and stays off until the user reloads it."""


class RuntimeUnavailable(AlephError):
    """The runtime the plugin needs is missing (e.g. Node.js >= 20)."""


# Text a plugin wrote (an error message, a block reason, stderr) is cut to this many characters before
# it reaches the user: a plugin must not flood a dialog, a terminal or the audit log.
PLUGIN_TEXT_CAP = 2000
TRUNCATED = "… (truncated)"


def cap_text(text: str, limit: int = PLUGIN_TEXT_CAP) -> str:
    """`text` if it is short enough, else its first `limit` characters and "… (truncated)"."""
    return text if len(text) <= limit else text[:limit] + TRUNCATED
