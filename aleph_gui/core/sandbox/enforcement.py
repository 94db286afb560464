"""What really limits a plugin's network on this machine, in one sentence for the review and `show`."""

from __future__ import annotations

from typing import NamedTuple

from aleph_gui.core.sandbox.policy import SandboxPolicy
from aleph_gui.core.sandbox.status import SandboxStatus, sandbox_status


class Enforcement(NamedTuple):
    """`enforced, sentence = network_enforcement(policy)`: False means the grant is not all it can do."""

    enforced: bool
    sentence: str


def network_enforcement(policy: SandboxPolicy, status: SandboxStatus | None = None) -> Enforcement:
    """Whether the policy's network grant is all the plugin can reach, and what enforces it."""
    status = status or sandbox_status()
    if not status.available:
        return Enforcement(False, f"not enforced — {status.sentence}; the plugin can reach any host, "
                                  "including services on this computer")
    if policy.network == "none":
        return Enforcement(True, "no network: the plugin runs in its own empty network namespace")
    if policy.network == "hosts":
        return Enforcement(True, f"only {policy.hosts.describe()}, over HTTP(S) through the app's filtering "
                                 "proxy; every other host and this computer's services are refused")
    return Enforcement(True, "any host, and services on this computer: the plugin shares its network "
                             "(including abstract Unix sockets such as some X11 and D-Bus ones)")
