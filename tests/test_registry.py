"""The registry: all eleven kinds, tagged with their plugin, atomic unregister, visible conflicts."""

from __future__ import annotations

from aleph_gui.core.manifest.model import CAPABILITY_TYPES, Capability, PluginManifest
from aleph_gui.core.registry import PluginRegistry


def manifest(plugin_id: str, caps: list[Capability]) -> PluginManifest:
    return PluginManifest(id=plugin_id, name=plugin_id, format="aleph-toml", manifest_file="plugin.toml",
                          capabilities=caps)


def cap(kind: str, name: str) -> Capability:
    return Capability(type=kind, event=name) if kind == "hook" else Capability(type=kind, name=name)


def test_every_kind_registers_and_is_tagged() -> None:
    reg = PluginRegistry()
    reg.register_manifest(manifest("all", [cap(k, f"{k}-x") for k in CAPABILITY_TYPES]))
    assert len(CAPABILITY_TYPES) == 11
    assert sorted(r.kind for r in reg.entries()) == sorted(CAPABILITY_TYPES)
    assert {r.plugin_id for r in reg.entries()} == {"all"}
    assert [r.name for r in reg.hooks_for("hook-x")] == ["hook-x"]


def test_unregister_removes_everything_of_one_plugin() -> None:
    reg = PluginRegistry()
    reg.register_manifest(manifest("a", [cap("tool", "t1"), cap("hook", "message_received"), cap("skill", "s")]))
    reg.register_manifest(manifest("b", [cap("tool", "t2")]))
    changed: list[str] = []
    reg.subscribe(changed.append)
    assert reg.unregister_plugin("a") == 3
    assert [r.name for r in reg.entries()] == ["t2"]
    assert changed == ["a"]
    assert reg.unregister_plugin("a") == 0


def test_undo_removes_exactly_what_was_registered() -> None:
    reg = PluginRegistry()
    undo = reg.register_manifest(manifest("a", [cap("tool", "t1"), cap("command", "c1")]))
    reg.register("a", cap("tool", "runtime-tool"), source="runtime")
    undo()
    assert [(r.name, r.source) for r in reg.entries()] == [("runtime-tool", "runtime")]


def test_name_conflicts_are_recorded_never_overwritten() -> None:
    reg = PluginRegistry()
    reg.register_manifest(manifest("first", [cap("tool", "search")]))
    reg.register_manifest(manifest("second", [cap("tool", "search")]))
    assert reg.owner("tool", "search") == "first"
    assert len(reg.entries(kind="tool")) == 2  # both visible
    (conflict,) = reg.conflicts()
    assert conflict.sentence() == ("tool 'search' is provided by both 'first' and 'second'; 'first' keeps the name")
    assert reg.conflicts("second") == reg.conflicts("first") == [conflict]


def test_hooks_never_conflict() -> None:
    reg = PluginRegistry()
    reg.register_manifest(manifest("a", [cap("hook", "message_received")]))
    reg.register_manifest(manifest("b", [cap("hook", "message_received")]))
    assert reg.conflicts() == [] and len(reg.hooks_for("message_received")) == 2


def test_when_the_winner_leaves_the_other_owns_the_name() -> None:
    reg = PluginRegistry()
    reg.register_manifest(manifest("first", [cap("tool", "search")]))
    reg.register_manifest(manifest("second", [cap("tool", "search")]))
    reg.unregister_plugin("first")
    assert reg.conflicts() == [] and reg.owner("tool", "search") == "second"


def test_thousands_of_plugins_share_one_owner_per_name() -> None:
    reg = PluginRegistry()
    for i in range(3000):
        reg.register_manifest(manifest(f"p{i}", [cap("tool", f"tool-{i}"), cap("command", "shared")]))
    assert reg.owner("command", "shared") == "p0"
    assert len(reg.conflicts()) == 2999
