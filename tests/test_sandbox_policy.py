"""Sandbox policy and availability: canonical paths, refused grants, the bwrap command line, and
what the app says when there is no sandbox on this system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sandbox_support import make_layout, needs_sandbox, run_fresh

from aleph_gui.core.sandbox import (
    PersistentSandbox,
    SandboxPolicy,
    SandboxPolicyError,
    SandboxUnavailable,
    bwrap_argv,
    executable_prefixes,
    sandbox_status,
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    (folder / "Documents").mkdir(parents=True)
    (folder / "plugin").mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder.resolve()


# --- canonical paths and refused grants ---------------------------------------------------

def test_grants_are_canonicalised(home: Path, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (home / "Documents" / "link").symlink_to(tmp_path / "real")
    policy = SandboxPolicy.build("p", home / "plugin", read_only=[
        f"{home}//Documents/./sub/..", "~/Documents/link", str(tmp_path / "real")])
    assert policy.read_only == (str(home / "Documents"), str((tmp_path / "real").resolve()))
    assert policy.plugin_dir == str(home / "plugin")


@pytest.mark.parametrize("spelling", ["/", "/.", "//", "/tmp/..", "~", "~/Documents/..", "~/", "{home}/plugin/../"])
def test_a_grant_of_the_root_or_the_whole_home_is_refused(home: Path, spelling: str) -> None:
    with pytest.raises(SandboxPolicyError) as err:
        SandboxPolicy.build("p", home / "plugin", read_write=[spelling.format(home=home)])
    text = str(err.value)
    assert text.startswith("p: read-write folder ")
    assert "resolves to / (the whole system)" in text or "is the whole home folder" in text


def test_a_folder_containing_home_is_refused(home: Path) -> None:
    with pytest.raises(SandboxPolicyError, match="contains the whole home folder"):
        SandboxPolicy.build("p", home / "plugin", read_only=[home.parent])


def test_a_symlink_to_home_is_refused_as_home(home: Path, tmp_path: Path) -> None:
    (tmp_path / "innocent").symlink_to(home)
    with pytest.raises(SandboxPolicyError, match=r"innocent \(.*\) cannot be granted: it is the whole home"):
        SandboxPolicy.build("p", home / "plugin", read_only=[tmp_path / "innocent"])


@pytest.mark.parametrize("path", ["/proc/self", "/sys", "/dev/shm", "/run"])
def test_kernel_and_service_folders_are_refused(home: Path, path: str) -> None:
    with pytest.raises(SandboxPolicyError, match="cannot be granted"):
        SandboxPolicy.build("p", home / "plugin", read_only=[path])


def test_the_session_runtime_folder_is_refused(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "run-user"
    (runtime / "bus").mkdir(parents=True)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    for path in (runtime, runtime / "bus"):
        with pytest.raises(SandboxPolicyError, match="desktop session's sockets"):
            SandboxPolicy.build("p", home / "plugin", read_write=[path])


def test_relative_paths_and_a_missing_plugin_folder_are_refused(home: Path) -> None:
    with pytest.raises(SandboxPolicyError, match="relative path"):
        SandboxPolicy.build("p", home / "plugin", read_only=["Documents"])
    with pytest.raises(SandboxPolicyError, match="does not exist"):
        SandboxPolicy.build("p", home / "missing")


def test_runtime_prefix_is_the_install_folder_outside_the_system(tmp_path: Path) -> None:
    (tmp_path / "nvm" / "bin").mkdir(parents=True)
    (tmp_path / "nvm" / "bin" / "node").write_text("")
    assert executable_prefixes(tmp_path / "nvm" / "bin" / "node") == [str((tmp_path / "nvm").resolve())]
    assert executable_prefixes("/usr/bin/sh") == []


def test_a_program_named_through_a_link_shows_both_install_folders(tmp_path: Path) -> None:
    # a virtual environment's bin/python links to the interpreter's install: both must be visible inside
    (tmp_path / "pyenv" / "bin").mkdir(parents=True)
    (tmp_path / "pyenv" / "bin" / "python3.11").write_text("")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").symlink_to(tmp_path / "pyenv" / "bin" / "python3.11")
    assert executable_prefixes(tmp_path / "venv" / "bin" / "python") == [str(tmp_path / "venv"),
                                                                         str(tmp_path / "pyenv")]


# --- the bwrap command line -----------------------------------------------------------------

def bind_pairs(argv: list[str]) -> list[tuple[str, str]]:
    flags = ("--ro-bind", "--ro-bind-try", "--bind", "--bind-try")
    return [(argv[i], argv[i + 1]) for i in range(len(argv) - 1) if argv[i] in flags]


@needs_sandbox
def test_bwrap_argv_shows_only_the_system_the_plugin_and_its_grants(home: Path, tmp_path: Path) -> None:
    (tmp_path / "rw" / "ro-inside").mkdir(parents=True)
    (tmp_path / "rw" / "plugin").mkdir()
    policy = SandboxPolicy.build("p", tmp_path / "rw" / "plugin", read_only=[tmp_path / "rw" / "ro-inside"],
                                 read_write=[tmp_path / "rw"], env={"ONLY": "this"})
    argv = bwrap_argv(policy, ["sh", "-c", "x;touch INJECTED;y"])
    assert argv[-4:] == ["--", "sh", "-c", "x;touch INJECTED;y"]  # argv, never shell text
    sources = [src for _, src in bind_pairs(argv)]
    for forbidden in ("/home", "/root", "/run", "/tmp", "/var", "/mnt"):
        assert forbidden not in sources
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv
    assert "--share-net" not in argv
    assert ("--disable-userns" in argv) == sandbox_status().disable_userns
    rw, inner, plugin = str(tmp_path / "rw"), str(tmp_path / "rw" / "ro-inside"), str(tmp_path / "rw" / "plugin")
    binds = bind_pairs(argv)
    flag_of = {dest: argv[argv.index(dest) - 1] for _, dest in binds}  # [flag, src, dest]
    assert flag_of[rw] == "--bind-try" and flag_of[inner] == "--ro-bind-try" and flag_of[plugin] == "--ro-bind"
    order = [dest for _, dest in binds]
    assert order.index(rw) < order.index(inner) and order.index(rw) < order.index(plugin)  # deeper wins
    assert argv.index("--tmpfs") < argv.index(rw)  # private /tmp and home first, grants on top
    env_pairs = [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == "--setenv"]
    assert env_pairs == [("ONLY", "this")]
    assert argv[argv.index("--chdir") + 1] == plugin


@needs_sandbox
def test_network_any_shares_the_network_and_hosts_needs_the_proxy(home: Path) -> None:
    anywhere = SandboxPolicy.build("p", home / "plugin", network="any")
    assert "--share-net" in bwrap_argv(anywhere, ["true"])
    hosts = SandboxPolicy.build("p", home / "plugin", network="hosts", hosts=["api.example.com"])
    with pytest.raises(SandboxPolicyError, match="filtering proxy"):
        bwrap_argv(hosts, ["true"])


@needs_sandbox
async def test_event_text_never_becomes_shell_syntax(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = make_layout(tmp_path, monkeypatch)
    nasty = "x;touch INJECTED;y"
    ran = await run_fresh(layout.policy(), ["sh", "-c", 'printf "%s" "$1"', "sh", nasty])
    assert ran.out == nasty
    assert not any(p.name == "INJECTED" for p in tmp_path.rglob("INJECTED"))


# --- availability ---------------------------------------------------------------------------

def test_sandbox_can_be_turned_off_and_says_so(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEPH_SANDBOX", "off")
    status = sandbox_status()
    assert not status.available
    assert status.sentence == "not sandboxed on this system: the sandbox is turned off (ALEPH_SANDBOX=off)"
    policy = SandboxPolicy.build("p", home / "plugin")
    with pytest.raises(SandboxUnavailable, match="not sandboxed on this system"):
        bwrap_argv(policy, ["true"])


async def test_persistent_sandbox_refuses_to_start_when_off(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEPH_SANDBOX", "off")
    with pytest.raises(SandboxUnavailable) as err:
        await PersistentSandbox.start(SandboxPolicy.build("p", home / "plugin"))
    assert str(err.value) == "p: not sandboxed on this system: the sandbox is turned off (ALEPH_SANDBOX=off)"


def test_missing_bubblewrap_is_named_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALEPH_SANDBOX", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    status = sandbox_status()
    assert not status.available
    assert status.reason == "bubblewrap is not installed (apt install bubblewrap)"


def test_other_systems_are_told_the_sandbox_is_linux_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALEPH_SANDBOX", raising=False)
    monkeypatch.setattr("sys.platform", "darwin")
    assert sandbox_status().sentence == "not sandboxed on this system: the plugin sandbox (bubblewrap) exists only on Linux"


@needs_sandbox
def test_available_status_names_the_tool_version() -> None:
    status = sandbox_status()
    assert status.available and status.reason == ""
    assert status.version and status.sentence == f"sandboxed with bubblewrap {status.version}"
    assert os.access(status.bwrap or "", os.X_OK)
