"""Shared fixtures: every test gets its own Aleph home, project and state database under tmp_path.

Nothing here reads or writes the real `~/.aleph`: an autouse fixture points `ALEPH_HOME` at a
temporary folder, so even code that falls back to the default home stays inside the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from host_support import MODES, CliRunner, HostProcess
from plugin_files import PluginFiles, write_plugin

from aleph_gui.core.paths import Locations
from aleph_gui.core.state import StateDB

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
# CI runs with a copy of shared/ beside the clone; tests/data/corpus holds the files tests use.
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
LOCAL_CORPUS = TEST_DATA / "corpus"

@pytest.fixture(autouse=True)
def _no_host_left_running() -> Iterator[None]:
    yield
    for host in HostProcess.started:
        host.kill()
    HostProcess.started.clear()


@pytest.fixture(autouse=True)
def _never_the_real_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEPH_HOME", str(tmp_path_factory.mktemp("default-aleph-home")))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh ALEPH_HOME with an empty plugins folder."""
    path = tmp_path / "home"
    (path / "plugins").mkdir(parents=True)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh project folder (its plugins go in .aleph/plugins)."""
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def locations(home: Path, project: Path) -> Locations:
    """Tmp home + tmp project, no builtin plugins."""
    return Locations(home=home, project=project, builtin=None)


@pytest.fixture
def state_db(locations: Locations) -> Iterator[StateDB]:
    db = StateDB(locations.state_db)
    yield db
    db.close()


@pytest.fixture
def make_plugin(locations: Locations) -> Callable[..., Path]:
    """`make_plugin("my-plugin", {"plugin.toml": "..."}, origin="user"|"project")` -> the folder."""

    def make(folder_name: str, files: PluginFiles, origin: str = "user") -> Path:
        root = locations.project_plugins if origin == "project" else locations.user_plugins
        assert root is not None
        return write_plugin(root, folder_name, files)

    return make


@pytest.fixture
def corpus() -> Path:
    """The real-world manifest corpus: ../shared/corpus when present, else the copies in tests/data."""
    return SHARED_CORPUS if SHARED_CORPUS.is_dir() else LOCAL_CORPUS


@pytest.fixture
def local_corpus() -> Path:
    """The corpus files this project copied (always present, with LICENSES.md)."""
    return LOCAL_CORPUS


@pytest.fixture(params=MODES)
def cli_mode(request: pytest.FixtureRequest) -> str:
    """Each CLI test runs twice: with no host (the core in-process) and through a running `aleph-ext serve`."""
    return str(request.param)


@pytest.fixture
def aleph_ext(cli_mode: str, home: Path, project: Path) -> Iterator[CliRunner]:
    """Run `aleph-ext` as a real subprocess against the tmp home/project (no builtin plugins), in-process or
    through a host (`host_support.CliRunner`: started on the first command, checked to serve every command)."""
    runner = CliRunner(cli_mode, home, project, cwd=project)
    yield runner
    runner.close()
