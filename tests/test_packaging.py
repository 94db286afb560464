"""What a user installing the app gets: the wheel carries everything the app loads at run time, a
`pip install` of it gives working `aleph-gui` / `aleph-ext` commands, and the Linux desktop files
(launcher, AppStream metadata, icons) are valid and agree with each other and with the app.

The PyInstaller build is tested by `make package-test` (packaging/test_binary.py).
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "aleph_gui"
LINUX = REPO / "packaging" / "linux"
ICONS = REPO / "packaging" / "icons" / "hicolor"
DESKTOP = LINUX / "aleph-gui.desktop"
METAINFO = next(LINUX.glob("*.metainfo.xml"))
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def data_files() -> list[str]:
    """Files of the package the app reads at run time that are not Python modules."""
    return sorted(str(p.relative_to(REPO)) for p in PACKAGE.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel . --no-deps` of a copy of the sources (the shared tree's build/ stays untouched)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(PACKAGE, src / "aleph_gui", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (found,) = out.glob("aleph_gui-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; its dependencies come from the project's venv (offline, fast)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # A plain path line: the project venv's own .pth files (its editable aleph_gui) are not run from it.
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                           "--quiet", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def run_installed(venv: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ALEPH_HOME": str(home)}
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=home.parent, env=env,
                          capture_output=True, text=True, timeout=120)


# -- the wheel ----------------------------------------------------------------------------------


def test_the_wheel_carries_the_host_script_builtin_plugins_and_resources(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "aleph_gui/core/runtime/node_host.js" in names
    assert "aleph_gui/resources/icons/aleph.svg" in names
    # the built-in plugins ship built: the wheel needs no Node.js to run them
    for plugin in ("secret-guard", "tool-rate-limiter"):
        for name in ("aleph.plugin.toml", "plugin.wasm", "README.md"):
            assert f"aleph_gui/builtin_plugins/{plugin}/{name}" in names
    missing = [f for f in data_files() if f not in names]
    assert missing == [], f"files the app reads at run time are not in the wheel: {missing}"
    modules = sorted(str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    assert [m for m in modules if m not in names] == []


def test_the_wheel_declares_both_commands(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        entry_points = next(n for n in z.namelist() if n.endswith("entry_points.txt"))
        parser = configparser.ConfigParser()
        parser.read_string(z.read(entry_points).decode())
    assert parser["console_scripts"]["aleph-ext"].strip() == "aleph_gui.cli:main"
    assert parser["gui_scripts"]["aleph-gui"].strip() == "aleph_gui.app:main"


def test_pip_install_puts_working_commands_on_path(installed: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    for demo in ("wasm-wat-text-tools", "node-weather-tools"):
        shutil.copytree(REPO / "plugins_demo" / demo, home / "plugins" / demo)
    where = run_installed(installed, home, "python", "-c", "import aleph_gui; print(aleph_gui.__file__)")
    assert where.stdout.strip().startswith(str(installed)), "the test must run the installed copy, not the tree"

    listed = run_installed(installed, home, "aleph-ext", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {p["id"]: p["state"] for p in json.loads(listed.stdout)} == {
        "wasm-wat-text-tools": "needs_review", "node-weather-tools": "needs_review",
        "secret-guard": "enabled", "tool-rate-limiter": "enabled"}  # built-ins: pre-approved

    leak = {"tool_name": "write_file", "arguments": {"content": "AKIA" + "Z7Q2X9W4R8T1Y6U3"}}
    fired = run_installed(installed, home, "aleph-ext", "fire", "before_tool_call", "--payload", json.dumps(leak),
                          "--json")
    assert fired.returncode == 0, fired.stderr
    assert "(detector aws_access_key_id)" in json.loads(fired.stdout)["reason"]

    assert run_installed(installed, home, "aleph-ext", "grant", "wasm-wat-text-tools").returncode == 0
    called = run_installed(installed, home, "aleph-ext", "call", "wasm-wat-text-tools", "uppercase",
                           "--input", '{"text": "from the wheel"}')
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {"text": "FROM THE WHEEL"}

    # A Node.js module plugin only runs through the host script shipped as package data.
    assert run_installed(installed, home, "aleph-ext", "grant", "node-weather-tools").returncode == 0
    called = run_installed(installed, home, "aleph-ext", "call", "node-weather-tools", "forecast",
                           "--input", '{"city": "Lima"}')
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["city"] == "Lima"

    shot = tmp_path / "window.png"
    drawn = run_installed(installed, home, "aleph-gui", "--screenshot", str(shot))
    assert drawn.returncode == 0, drawn.stderr
    assert shot.stat().st_size > 10_000


# -- Linux desktop integration ------------------------------------------------------------------


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def validator(tool: str) -> str:
    """The tool's path; `make test` installs it (make desktop-tools), so CI never skips this."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing: `make desktop-tools` installs it")
        pytest.skip(f"{tool} is not installed (make desktop-tools installs it)")
    return path


def test_desktop_file_is_valid() -> None:
    done = subprocess.run([validator("desktop-file-validate"), str(DESKTOP)], capture_output=True, text=True)
    assert done.returncode == 0 and "error" not in done.stdout, done.stdout + done.stderr


def test_metainfo_is_valid() -> None:
    done = subprocess.run([validator("appstreamcli"), "validate", "--no-net", str(METAINFO)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_launcher_starts_the_gui_command_with_the_app_icon() -> None:
    entry = desktop_entry()
    assert entry["Exec"].split()[0] == "aleph-gui" and "aleph-gui" in PROJECT["gui-scripts"]
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    # Wayland and X11 match a window to its launcher by the name the app sets in app.py.
    assert 'setDesktopFileName("aleph-gui")' in (PACKAGE / "app.py").read_text()
    assert DESKTOP.stem == entry["StartupWMClass"] == "aleph-gui"
    assert (ICONS / "scalable" / "apps" / f"{entry['Icon']}.svg").is_file()


def test_metainfo_names_the_launcher_the_commands_and_this_version() -> None:
    root = ET.parse(METAINFO).getroot()
    component_id = root.findtext("id")
    assert component_id and METAINFO.name == f"{component_id}.metainfo.xml"
    assert root.findtext("launchable") == DESKTOP.name
    binaries = {b.text for b in root.iter("binary")}
    assert binaries == set(PROJECT["scripts"]) | set(PROJECT["gui-scripts"])
    versions = [r.get("version") for r in root.iter("release")]
    assert versions and versions[0] == PROJECT["version"], "add a <release> for the version in pyproject.toml"


def test_icons_exist_in_every_standard_size_and_match_the_app_svg(tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    assert (ICONS / "scalable" / "apps" / "aleph-gui.svg").read_bytes() == \
        (PACKAGE / "resources" / "icons" / "aleph.svg").read_bytes(), "run packaging/render_icons.py"
    done = subprocess.run([sys.executable, str(REPO / "packaging" / "render_icons.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    for size in ICON_SIZES:
        shipped = QImage(str(ICONS / f"{size}x{size}" / "apps" / "aleph-gui.png"))
        fresh = QImage(str(tmp_path / "hicolor" / f"{size}x{size}" / "apps" / "aleph-gui.png"))
        assert (shipped.width(), shipped.height()) == (size, size)
        corner, centre = shipped.pixelColor(0, 0), shipped.pixelColor(size // 2, size // 2)
        assert corner.alpha() == 0 and centre.alpha() == 255, "the icon should be opaque with round corners"
        step = max(1, size // 16)
        worst = max(abs(shipped.pixelColor(x, y).red() - fresh.pixelColor(x, y).red())
                    for x in range(0, size, step) for y in range(0, size, step))
        assert worst <= 8, f"{size}px icon differs from the SVG: run packaging/render_icons.py"


def test_make_package_builds_from_the_spec_in_this_folder() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^package:", makefile, re.M) and re.search(r"^package-test:", makefile, re.M)
    assert "packaging/aleph-gui.spec" in makefile
    spec = (REPO / "packaging" / "aleph-gui.spec").read_text()
    compile(spec, "aleph-gui.spec", "exec")  # a syntax error would only show after a long build
    for needed in ("node_host.js", "extism_sys", "builtin_plugins", "resources", "launch_gui.py", "launch_ext.py"):
        assert needed in spec
