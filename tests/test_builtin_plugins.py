"""The plugins that ship inside the app: each committed plugin.wasm is the build of its source in
builtin_src/, each is a valid plugin that `aleph-ext` finds as a pre-approved built-in, and the
secret guard blocks a tool call carrying a private key from the command line, in safe mode too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import extism
import pytest
from builtin_support import RATE_LIMITER, SECRET_GUARD, pem

from aleph_gui.core.paths import BUILTIN_PLUGINS
from aleph_gui.core.runtime.wasm_host import host_functions

ROOT = Path(__file__).resolve().parents[1]
BUILTINS = {"secret-guard": SECRET_GUARD, "tool-rate-limiter": RATE_LIMITER}


def ext(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`aleph-ext` as a user runs it: built-in plugins included (no --no-builtin)."""
    env = {**os.environ, "ALEPH_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "aleph_gui.cli", "--home", str(home), "--project",
                           str(home / "no-project"), *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=ROOT)


def test_the_committed_modules_are_the_build_of_their_sources() -> None:
    # needs Node.js + npm, like `make demo-build` (the toolchain is pinned by builtin_src/package-lock.json)
    assert shutil.which("npm"), "npm is needed to rebuild the built-in plugins (make builtin-check)"
    out = subprocess.run(["make", "-s", "-C", str(ROOT / "builtin_src"), "check"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    for plugin_id in BUILTINS:
        assert f"{plugin_id}: the committed plugin.wasm is the build of builtin_src/{plugin_id}" in out.stdout


def test_only_the_intended_plugins_ship() -> None:
    shipped = sorted(p.name for p in BUILTIN_PLUGINS.iterdir() if p.is_dir())
    assert shipped == sorted(BUILTINS)
    for folder in BUILTINS.values():
        assert sorted(p.name for p in folder.iterdir()) == ["README.md", "aleph.plugin.toml", "plugin.wasm"]


@pytest.mark.parametrize("plugin_id", BUILTINS)
def test_each_module_exports_its_hook_and_imports_only_its_granted_host_functions(plugin_id: str) -> None:
    folder = BUILTINS[plugin_id]
    # instantiating with exactly the granted host functions fails if the module imports anything else
    apis = {"secret-guard": ["log"], "tool-rate-limiter": ["log", "kv", "time"]}[plugin_id]
    plugin = extism.Plugin((folder / "plugin.wasm").read_bytes(), wasi=True, functions=host_functions(apis))
    assert plugin.function_exists("before_tool_call")


@pytest.mark.parametrize("plugin_id", BUILTINS)
def test_each_builtin_is_a_valid_plugin(tmp_path: Path, plugin_id: str) -> None:
    out = ext(tmp_path, "validate", str(BUILTINS[plugin_id]), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert doc["valid"] is True and doc["problems"] == []
    hooks = [c for c in doc["manifest"]["capabilities"] if c["type"] == "hook"]
    assert [(h["event"], h["hook_kind"], h["priority"]) for h in hooks] == [
        ("before_tool_call", "interceptor", -100 if plugin_id == "secret-guard" else -90)]
    # every setting has a schema the Settings tab can build a form from, and its default
    schema = doc["manifest"]["config_schema"]
    assert schema and all({"type", "default", "description"} <= set(spec) for spec in schema.values())
    assert doc["manifest"]["config_defaults"] == {key: spec["default"] for key, spec in schema.items()}


def test_the_builtins_are_found_pre_approved_and_enabled(tmp_path: Path) -> None:
    out = ext(tmp_path, "list", "--json")
    assert out.returncode == 0, out.stderr
    found = {p["id"]: p for p in json.loads(out.stdout) if p["origin"] == "builtin"}
    assert sorted(found) == sorted(BUILTINS)
    for plugin_id, plugin in found.items():
        assert plugin["state"] == "enabled", (plugin_id, plugin["state_reason"])
        assert plugin["kind"] == "wasm" and plugin["problems"] == []
        assert plugin["scope"]["needs_review"] is False
        assert Path(plugin["path"]) == BUILTINS[plugin_id]
    assert found["secret-guard"]["scope"]["requested"]["allowed_apis"] == ["log", "config"]
    assert found["tool-rate-limiter"]["scope"]["requested"]["allowed_apis"] == ["log", "kv", "time", "config"]


@pytest.mark.parametrize("safe_mode", [False, True], ids=["normal", "safe-mode"])
def test_a_tool_call_carrying_a_private_key_is_blocked_from_the_command_line(tmp_path: Path,
                                                                             safe_mode: bool) -> None:
    key = pem("OPENSSH PRIVATE KEY", seed="cli")
    payload = {"plugin": "files", "tool_name": "write_file", "arguments": {"path": "~/.ssh/id_ed25519", "content": key}}
    out = ext(tmp_path, *(["--safe-mode"] if safe_mode else []), "fire", "before_tool_call", "--payload",
              json.dumps(payload), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["decision"] == "block"
    assert doc["reason"].startswith("The argument arguments.content holds what looks like a private key block")
    assert key.splitlines()[1] not in doc["reason"]
    assert [(t["plugin"], t["decision"]) for t in doc["trace"]] == [("secret-guard", "block")]
    # an ordinary call goes through both built-ins
    ok = ext(tmp_path, *(["--safe-mode"] if safe_mode else []), "fire", "before_tool_call", "--payload",
             json.dumps({"plugin": "files", "tool_name": "read_file", "arguments": {"path": "notes.md"}}), "--json")
    doc = json.loads(ok.stdout)
    assert doc["decision"] == "continue"
    assert [(t["plugin"], t["decision"], t["error"]) for t in doc["trace"]] == [
        ("secret-guard", "continue", ""), ("tool-rate-limiter", "continue", "")]
