"""Every registration kind does something real (issue 14): services run until stopped, a provider
answers, a channel sends and can emit `message_received`, an HTTP route answers, a CLI entry runs, a
chat command runs, settings are validated and reach the running plugin — all through the manager
(the host), each traced in the audit log with who asked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from node_support import DEMOS, needs_node

from aleph_gui.core.errors import PluginCallError
from aleph_gui.core.hook_result import Intercept
from aleph_gui.core.hooks import HookHandler
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations
from aleph_gui.core.settings import SettingsError

pytestmark = needs_node
KIT = "node-assistant-kit"


@pytest.fixture
async def kit(tmp_path: Path) -> ExtensionManager:  # type: ignore[misc]
    home = tmp_path / "home"
    shutil.copytree(DEMOS / KIT, home / "plugins" / KIT)
    manager = ExtensionManager(Locations(home=home, project=tmp_path, builtin=None))
    await manager.start()
    await manager.grant(KIT)
    try:
        yield manager
    finally:
        await manager.stop()


async def test_a_service_runs_until_stopped_and_shows_its_state(kit: ExtensionManager) -> None:
    assert kit.services(KIT) == [{"plugin": KIT, "name": "clock", "state": "stopped", "plugin_state": "enabled"}]
    await kit.start_service(KIT, "clock")
    assert kit.services(KIT)[0]["state"] == "running"
    assert (await kit.call_tool(KIT, "clock_status"))["running"] is True
    await kit.stop_service(KIT, "clock")
    assert kit.services(KIT)[0]["state"] == "stopped"


async def test_a_provider_answers_from_its_rules_with_the_users_settings(kit: ExtensionManager) -> None:
    assert (await kit.ask_provider(KIT, "rules", "hello there")).startswith("Hello! ")
    settings = await kit.set_setting(KIT, "greeting", "Ahoy")
    assert settings.effective["greeting"] == "Ahoy" and settings.values == {"greeting": "Ahoy"}
    assert (await kit.ask_provider(KIT, "rules", "hello again")).startswith("Ahoy! ")  # no restart needed
    with pytest.raises(SettingsError, match="'greeting': must be text, got 42"):
        await kit.set_setting(KIT, "greeting", 42)
    await kit.unset_setting(KIT, "greeting")
    assert kit.settings(KIT).effective["greeting"] == "Hello"


async def test_a_channel_sends_and_its_incoming_messages_run_the_chain(kit: ExtensionManager) -> None:
    outbox = kit.plugin(KIT).path / "outbox" / "messages.log"
    assert await kit.send_message(KIT, "outbox", "see you at noon", to="ada") == {"delivered": True, "to": "ada"}
    assert json.loads(outbox.read_text().splitlines()[-1])["text"] == "see you at noon"
    kit.hooks.add(HookHandler("tagger", "message_received", "tag",
                              func=lambda data: Intercept({**data, "tagged": True})))
    answer = await kit.call_tool(KIT, "receive", {"text": "incoming!"})
    assert answer["decision"] == "intercept" and answer["data"] == {"text": "incoming!", "channel": "outbox",
                                                                     "tagged": True}
    traced = [r for r in kit.audit(plugin="tagger")]
    assert traced[-1].event == "message_received" and traced[-1].client == f"plugin:{KIT}"


async def test_an_http_route_answers_json_and_unknown_routes_are_refused(kit: ExtensionManager) -> None:
    answer = await kit.http_request(KIT, "GET", "/status", query={"verbose": "1"})
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    assert json.loads(answer.body) == {"plugin": KIT, "clock": {"running": False, "ticks": 0},
                                       "query": {"verbose": "1"}}
    with pytest.raises(PluginCallError, match="has no HTTP route for POST /status"):
        await kit.http_request(KIT, "POST", "/status")


async def test_a_cli_entry_and_a_chat_command_run_and_are_audited(kit: ExtensionManager) -> None:
    done = await kit.run_cli(KIT, "greet", ["Ada"], client="cli")
    assert (done.stdout, done.stderr, done.exit_code) == ("Hello, Ada!\n", "", 0)
    failed = await kit.run_cli(KIT, "greet", ["--fail"], client="cli")
    assert failed.exit_code == 3 and "--fail was asked for" in failed.stderr
    assert isinstance(await kit.run_command(KIT, "today"), str)
    with pytest.raises(PluginCallError, match="has no CLI entry named 'nope' \\(its CLI entries: greet\\)"):
        await kit.run_cli(KIT, "nope", [])
    kinds = [(r.event, r.handler, r.client) for r in kit.audit(plugin=KIT)]
    assert ("cli", "greet", "cli") in kinds and ("command", "today", "") in kinds
