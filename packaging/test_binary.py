"""Smoke test of the PyInstaller build (`make package-test`): the executables in dist/aleph-gui/ start
on their own and do what a user would first try — list plugins, run a WASM and a Node.js tool, create a
plugin, and open the window (rendered offscreen to a PNG).

Not part of `make test`: it needs `make package` first (about two minutes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DIST = Path(os.environ.get("ALEPH_DIST", REPO / "dist" / "aleph-gui"))
DEMOS = REPO / "plugins_demo"


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a user who never saw this repository: no venv, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["ALEPH_HOME"] = str(home)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


@pytest.fixture(scope="module")
def dist() -> Path:
    if not (DIST / "aleph-gui").is_file():
        pytest.fail(f"{DIST} has no aleph-gui executable: run `make package` first")
    return DIST


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for demo in ("wasm-wat-text-tools", "node-weather-tools", "static-prompts"):
        shutil.copytree(DEMOS / demo, home / "plugins" / demo)
    return home


def ext(dist: Path, home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(dist / "aleph-ext"), "--home", str(home), *args], cwd=cwd, env=clean_env(home),
                          capture_output=True, text=True, timeout=60)


def test_the_folder_holds_both_commands_and_the_plugin_runtime_files(dist: Path) -> None:
    for exe in ("aleph-gui", "aleph-ext"):
        assert os.access(dist / exe, os.X_OK), exe
    internal = dist / "_internal"
    assert (internal / "aleph_gui" / "core" / "runtime" / "node_host.js").is_file()
    assert (internal / "aleph_gui" / "resources" / "icons" / "aleph.svg").is_file()
    for plugin in ("secret-guard", "tool-rate-limiter"):  # shipped built: no Node.js needed
        assert (internal / "aleph_gui" / "builtin_plugins" / plugin / "plugin.wasm").is_file()
    assert list((internal / "extism_sys").glob("libextism_sys*")), "Extism's native library is missing"
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqoffscreen.so").is_file()
    assert list((internal / "PySide6" / "Qt" / "plugins" / "iconengines").glob("*svg*")), "SVG icons would not show"


def test_aleph_ext_lists_the_plugins_of_a_home(dist: Path, home: Path, tmp_path: Path) -> None:
    done = ext(dist, home, tmp_path, "list", "--json")
    assert done.returncode == 0, done.stderr
    states = {p["id"]: p["state"] for p in json.loads(done.stdout)}
    assert states == {"wasm-wat-text-tools": "needs_review", "node-weather-tools": "needs_review",
                      "static-prompts": "enabled", "secret-guard": "enabled", "tool-rate-limiter": "enabled"}


def test_the_builtin_secret_guard_blocks_a_leaking_tool_call(dist: Path, home: Path, tmp_path: Path) -> None:
    leak = {"tool_name": "write_file", "arguments": {"content": "AKIA" + "Z7Q2X9W4R8T1Y6U3"}}
    done = ext(dist, home, tmp_path, "--safe-mode", "fire", "before_tool_call", "--payload", json.dumps(leak), "--json")
    assert done.returncode == 0, done.stderr
    assert "(detector aws_access_key_id)" in json.loads(done.stdout)["reason"]


def test_aleph_ext_runs_a_wasm_tool(dist: Path, home: Path, tmp_path: Path) -> None:
    assert ext(dist, home, tmp_path, "grant", "wasm-wat-text-tools").returncode == 0
    done = ext(dist, home, tmp_path, "call", "wasm-wat-text-tools", "uppercase", "--input", '{"text": "hi there"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"text": "HI THERE"}


def test_aleph_ext_runs_a_node_tool_through_the_bundled_host_script(dist: Path, home: Path, tmp_path: Path) -> None:
    assert ext(dist, home, tmp_path, "grant", "node-weather-tools").returncode == 0
    done = ext(dist, home, tmp_path, "call", "node-weather-tools", "forecast", "--input", '{"city": "Oslo"}')
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["city"] == "Oslo" and len(result["days"]) == 3


def test_a_plugin_made_with_init_validates_and_answers(dist: Path, home: Path, tmp_path: Path) -> None:
    made = ext(dist, home, tmp_path, "init", "Hello Tool", "--kind", "wasm", "--dir", str(home / "plugins"))
    assert made.returncode == 0, made.stderr
    assert ext(dist, home, tmp_path, "validate", str(home / "plugins" / "hello-tool")).returncode == 0
    assert ext(dist, home, tmp_path, "grant", "hello-tool").returncode == 0  # its code runs once approved
    done = ext(dist, home, tmp_path, "call", "hello-tool", "echo", "--input", '{"n": 7}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"n": 7}


def test_a_bad_command_line_is_one_clear_error_not_a_traceback(dist: Path, home: Path, tmp_path: Path) -> None:
    done = ext(dist, home, tmp_path, "call", "no-such-plugin", "x")
    assert done.returncode == 1
    assert "no-such-plugin" in done.stderr and "Traceback" not in done.stderr


def test_aleph_gui_renders_its_window_to_a_png(dist: Path, home: Path, tmp_path: Path) -> None:
    assert ext(dist, home, tmp_path, "grant", "wasm-wat-text-tools").returncode == 0
    out = tmp_path / "window.png"
    done = subprocess.run([str(dist / "aleph-gui"), "--home", str(home), "--screenshot", str(out),
                           "--select", "wasm-wat-text-tools", "--fire", "message_received"],
                          cwd=tmp_path, env=clean_env(home), capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    width, height, colours = image_facts(out)
    assert width >= 800 and height >= 500
    assert colours >= 20, f"the screenshot looks blank ({colours} colours)"


def image_facts(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct colours on a 64 x 64 sample grid, read with Qt."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not an image"
    w, h = image.width(), image.height()
    seen = {image.pixel(x, y) for x in range(0, w, max(1, w // 64)) for y in range(0, h, max(1, h // 64))}
    return w, h, len(seen)


def test_aleph_ext_lists_the_tools_of_a_plugins_mcp_server(dist: Path, home: Path, tmp_path: Path) -> None:
    """The bundled MCP client talks to a stdio server; ALEPH_PYTHON names a Python that has the server's SDK."""
    import sys

    shutil.copytree(DEMOS / "mcp-time-server", home / "plugins" / "mcp-time-server")
    assert ext(dist, home, tmp_path, "grant", "mcp-time-server").returncode == 0
    env = {**clean_env(home), "ALEPH_PYTHON": sys.executable}
    done = subprocess.run([str(dist / "aleph-ext"), "--home", str(home), "mcp", "tools", "mcp-time-server", "time"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    assert "current_time" in [t["name"] for t in json.loads(done.stdout)]
