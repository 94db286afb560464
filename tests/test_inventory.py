"""Inventory: the state word of every plugin and the `list --json` record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from manager_helpers import headless_plugins

from aleph_gui.core.paths import Locations
from aleph_gui.core.scope import Scope
from aleph_gui.core.state import Identity, StateDB

LOG_ONLY = '[plugin]\nid = "{id}"\nversion = "1.0.0"\n'
NEEDS_KV = '[plugin]\nid = "{id}"\nversion = "1.0.0"\n[scope]\nallowed_apis = ["log", "kv"]\n'


def states(locations: Locations, state_db: StateDB, **kw) -> dict[tuple[str, str], str]:
    return {(i.id, i.origin): i.state for i in headless_plugins(locations, **kw)}


def test_state_words(locations: Locations, state_db: StateDB, make_plugin: Callable[..., Path]) -> None:
    make_plugin("quiet", {"plugin.toml": LOG_ONLY.format(id="quiet")})
    make_plugin("asks", {"plugin.toml": NEEDS_KV.format(id="asks")})
    make_plugin("broken", {"plugin.toml": "[plugin\n"})
    make_plugin("off", {"plugin.toml": LOG_ONLY.format(id="off")})
    state_db.set_enabled("off", False)
    assert states(locations, state_db) == {
        ("quiet", "user"): "enabled", ("asks", "user"): "needs_review",
        ("broken", "user"): "invalid", ("off", "user"): "disabled"}


def test_grant_must_cover_the_request(locations: Locations, state_db: StateDB,
                                      make_plugin: Callable[..., Path]) -> None:
    folder = make_plugin("asks", {"plugin.toml": NEEDS_KV.format(id="asks")})
    state_db.set_grant("asks", Scope(allowed_apis=["log", "kv"]), code_digest="",
                       identity=Identity("user", str(folder.resolve()), "static", ""))
    assert states(locations, state_db)[("asks", "user")] == "enabled"
    (folder / "plugin.toml").write_text(NEEDS_KV.format(id="asks") + "shell = true\n")
    assert states(locations, state_db)[("asks", "user")] == "needs_review"  # asks for more now


def test_project_overrides_user_and_builtin_is_preapproved(tmp_path: Path, state_db: StateDB,
                                                            locations: Locations,
                                                            make_plugin: Callable[..., Path]) -> None:
    make_plugin("dup", {"plugin.toml": LOG_ONLY.format(id="dup")}, origin="user")
    make_plugin("dup", {"plugin.toml": LOG_ONLY.format(id="dup")}, origin="project")
    builtin = tmp_path / "builtin"
    (builtin / "core-tools").mkdir(parents=True)
    (builtin / "core-tools" / "plugin.toml").write_text(NEEDS_KV.format(id="core-tools"))
    with_builtin = Locations(home=locations.home, project=locations.project, builtin=builtin)
    infos = headless_plugins(with_builtin)
    by_key = {(i.id, i.origin): i for i in infos}
    assert by_key[("dup", "project")].state == "needs_review"  # until the project folder is trusted
    assert by_key[("dup", "project")].trust_folder == str(locations.project)
    assert by_key[("dup", "user")].state == "overridden"
    assert by_key[("dup", "user")].overridden_by == "project"
    assert by_key[("core-tools", "builtin")].state == "enabled"


def test_safe_mode_disables_all_but_builtin(locations: Locations, state_db: StateDB,
                                            make_plugin: Callable[..., Path]) -> None:
    make_plugin("quiet", {"plugin.toml": LOG_ONLY.format(id="quiet")})
    (info,) = headless_plugins(locations, safe_mode=True)
    assert (info.state, info.state_reason) == ("disabled", "safe mode: only builtin plugins run")


def test_to_json_has_what_list_promises(locations: Locations, state_db: StateDB,
                                        make_plugin: Callable[..., Path]) -> None:
    make_plugin("asks", {"plugin.toml": NEEDS_KV.format(id="asks") +
                         '[[hooks]]\nevent = "message_received"\nhandler = "h"\n[[tools]]\nname = "t"\n'})
    (info,) = headless_plugins(locations)
    doc = info.to_json()
    for key in ("id", "name", "version", "format", "kind", "origin", "path", "state", "capabilities",
                "scope", "problems"):
        assert key in doc
    by_type = {c["type"]: c for c in doc["capabilities"]}
    assert by_type["hook"]["event"] == "message_received" and by_type["tool"]["name"] == "t"
    assert doc["scope"]["granted"] is None and doc["scope"]["needs_review"] is True
    assert [p["key"] for p in doc["scope"]["pending"]] == ["api:kv"]
    assert doc["scope"]["risk"] == "low"
