"""`aleph-ext` commands that run plugins: call, fire, install, uninstall, watch — as a user runs them, each test
both with no host and through a running `aleph-ext serve` (the `ext` fixture), same output either way."""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from host_support import CliRunner
from manager_helpers import static_toml, write_plugin
from plugin_files import approve

ROOT = Path(__file__).resolve().parents[1]
TEXT_TOOLS = ROOT / "plugins_demo" / "wasm-wat-text-tools"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    approve(home, shutil.copytree(TEXT_TOOLS, home / "plugins" / "wasm-wat-text-tools"))
    return home


@pytest.fixture
def ext(cli_mode: str, home: Path) -> Iterator[CliRunner]:
    """`aleph-ext --home HOME --project HOME/no-project --no-builtin ...`, in-process or through a host."""
    runner = CliRunner(cli_mode, home, home / "no-project", cwd=ROOT)
    yield runner
    runner.close()


def test_call_refuses_until_granted_then_answers(ext: CliRunner, home: Path) -> None:
    # the demo asks only for `log`, so widen it to need review
    manifest = home / "plugins" / "wasm-wat-text-tools" / "aleph.plugin.toml"
    manifest.write_text(manifest.read_text().replace('allowed_apis = ["log"]', 'allowed_apis = ["log", "kv"]'))
    refused = ext("call", "wasm-wat-text-tools", "uppercase", "--input", '{"text": "hi"}')
    assert refused.returncode == 1
    assert "aleph-ext grant wasm-wat-text-tools" in json.loads(refused.stdout)["error"]
    assert ext("grant", "wasm-wat-text-tools").returncode == 0
    done = ext("call", "wasm-wat-text-tools", "uppercase", "--input", '{"text": "hi"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"text": "HI"}


def test_call_with_bad_arguments_says_what_is_wrong(ext: CliRunner, home: Path) -> None:
    out = ext("call", "wasm-wat-text-tools", "uppercase", "--input", '{"txt": 1}')
    assert out.returncode == 1
    assert "'text' is a required property" in json.loads(out.stdout)["error"]
    out = ext("call", "wasm-wat-text-tools", "nope")
    assert out.returncode == 1 and "has no tool 'nope'" in json.loads(out.stdout)["error"]
    out = ext("call", "wasm-wat-text-tools", "uppercase", "--input", "{not json", routed=False)
    assert out.returncode == 1 and "not valid JSON" in json.loads(out.stdout)["error"]


def test_fire_prints_decision_data_reason_and_trace(ext: CliRunner, home: Path) -> None:
    out = ext("fire", "UserPromptSubmit", "--payload", '{"text": "cheap spam"}', "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["decision"] == "block" and "spam" in doc["reason"]
    assert [t["plugin"] for t in doc["trace"]] == ["wasm-wat-text-tools"]
    ok = json.loads(ext("fire", "message_received", "--payload", '{"text": "fine"}', "--json").stdout)
    assert ok["decision"] == "continue" and ok["data"] == {"text": "fine"}


def test_install_zip_and_uninstall(ext: CliRunner, home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped/plugin.toml", static_toml("zipped"))
    out = ext("install", str(archive))
    assert out.returncode == 0, out.stderr
    assert "installed zipped" in out.stderr
    listed = json.loads(ext("list", "--json").stdout)
    assert "zipped" in [p["id"] for p in listed]
    assert ext("install", str(archive)).returncode == 1
    assert ext("uninstall", "zipped").returncode == 0
    assert not (home / "plugins" / "zipped").exists()
    assert ext("uninstall", "zipped").returncode == 1


def test_watch_json_prints_ready_then_changes(ext: CliRunner, home: Path) -> None:
    proc = ext.popen("watch", "--json")
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["type"] == "Ready"
        write_plugin(home / "plugins", "arrived", {"plugin.toml": static_toml("arrived")})
        deadline = time.monotonic() + 20
        seen = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            doc = json.loads(line)
            seen.append(doc)
            if doc["type"] == "PluginAdded" and doc["id"] == "arrived":
                break
        assert any(d["type"] == "PluginAdded" and d["id"] == "arrived" for d in seen), seen
        assert all({"type", "id", "time"} <= d.keys() for d in seen)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_service_status_and_mcp_errors(ext: CliRunner, home: Path) -> None:
    none = ext("service", "status")
    assert (none.returncode, none.stdout, none.stderr.strip()) == (0, "", "no plugin declares a service")
    assert json.loads(ext("service", "status", "--json").stdout) == []
    one = ext("service", "status", "wasm-wat-text-tools")
    assert one.returncode == 0 and one.stderr.strip() == "wasm-wat-text-tools declares no services"
    ghost = ext("service", "status", "ghost")
    assert ghost.returncode == 1
    assert ghost.stderr.strip() == "aleph-ext: unknown plugin 'ghost' (aleph-ext list shows the discovered plugins)"
    no_server = ext("mcp", "tools", "wasm-wat-text-tools", "nope")
    assert no_server.returncode == 1
    assert "has no MCP server named 'nope' (its servers: none)" in no_server.stderr


def test_install_takes_a_path_relative_to_where_the_command_runs(ext: CliRunner, home: Path) -> None:
    """The host does not share the command's working folder: the path is made absolute before it is sent."""
    out = ext("install", "plugins_demo/static-prompts")  # relative to ROOT, where `ext` runs
    assert out.returncode == 0, out.stderr
    assert (home / "plugins" / "static-prompts").is_dir()
    assert "installed static-prompts" in out.stderr
