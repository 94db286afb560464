"""Typed sandbox errors: each is one sentence for the user and carries the plugin id."""

from __future__ import annotations

from aleph_gui.core.errors import AlephError


class SandboxError(AlephError):
    """Something about the OS sandbox went wrong for this plugin."""


class SandboxPolicyError(SandboxError):
    """The requested sandbox cannot be built (a grant that resolves to `/`, the home folder, ...)."""


class SandboxUnavailable(SandboxError):
    """No OS sandbox can run on this system (or it was turned off); the reason is in the message."""


class SandboxCrashed(SandboxError):
    """The plugin's sandbox stopped while commands were starting or running."""
