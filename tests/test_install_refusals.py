"""A refused install leaves nothing behind (issue 13, finding 10).

Before the fix, refusing a plugin whose id was already installed left an empty `.install-*`
staging folder in the user's plugins folder. Every refusal is tried here, each must say why in one
sentence and leave the plugins folder exactly as it was.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from aleph_gui.core.install import InstallError
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations

GOOD = '[plugin]\nid = "zipped"\nname = "Zipped"\nversion = "1.0.0"\n'


def traversal(zf: zipfile.ZipFile) -> None:
    zf.writestr("zipped/aleph.plugin.toml", GOOD)
    zf.writestr("../escaped.txt", "x")


def bomb(zf: zipfile.ZipFile) -> None:
    zf.writestr("zipped/aleph.plugin.toml", GOOD)
    zf.writestr("zipped/zeros.bin", b"\0" * (20 * 1024 * 1024), compress_type=zipfile.ZIP_DEFLATED)


def duplicate_entry(zf: zipfile.ZipFile) -> None:
    zf.writestr("zipped/aleph.plugin.toml", GOOD)
    with pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("zipped/aleph.plugin.toml", GOOD)


def invalid_manifest(zf: zipfile.ZipFile) -> None:
    zf.writestr("zipped/aleph.plugin.toml", '[plugin]\nid = "Not Valid"\nversion = "1.0.0"\n')


def link_inside(zf: zipfile.ZipFile) -> None:
    zf.writestr("zipped/aleph.plugin.toml", GOOD)
    info = zipfile.ZipInfo("zipped/home")
    info.external_attr = (0o120777 << 16)
    zf.writestr(info, "/home")


REFUSALS: dict[str, tuple[Callable[[zipfile.ZipFile], None], str]] = {
    "traversal": (traversal, "would be written outside the plugin folder"),
    "bomb": (bomb, "looks like a zip bomb"),
    "duplicate entry": (duplicate_entry, "contains 'zipped/aleph.plugin.toml' twice"),
    "invalid manifest": (invalid_manifest, "the plugin is not valid"),
    "symbolic link": (link_inside, "is a symbolic link"),
}


def leftovers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_each_refused_archive_leaves_nothing(case: str, locations: Locations, tmp_path: Path) -> None:
    build, why = REFUSALS[case]
    archive = tmp_path / f"{case.replace(' ', '-')}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        build(zf)
    async with ExtensionManager(locations) as m:
        with pytest.raises(InstallError) as err:
            await m.install(archive)
    assert why in str(err.value) and "\n" not in str(err.value)
    assert leftovers(locations.user_plugins) == []
    assert not (tmp_path / "escaped.txt").exists()


async def test_an_id_already_installed_is_refused_and_leaves_nothing(
        locations: Locations, make_plugin: Callable[..., Path], tmp_path: Path) -> None:
    make_plugin("zipped", {"aleph.plugin.toml": GOOD})
    for source in ("folder", "zip"):
        if source == "folder":
            path = tmp_path / "src" / "zipped"
            path.mkdir(parents=True)
            (path / "aleph.plugin.toml").write_text(GOOD)
        else:
            path = tmp_path / "again.zip"
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("zipped/aleph.plugin.toml", GOOD)
        async with ExtensionManager(locations) as m:
            with pytest.raises(InstallError, match="already installed; use --replace"):
                await m.install(path)
        assert leftovers(locations.user_plugins) == ["zipped"], source


async def test_a_replaced_install_leaves_only_the_plugin(
        locations: Locations, make_plugin: Callable[..., Path], tmp_path: Path) -> None:
    make_plugin("zipped", {"aleph.plugin.toml": GOOD})
    archive = tmp_path / "new.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped/aleph.plugin.toml", GOOD.replace("1.0.0", "2.0.0"))
    async with ExtensionManager(locations) as m:
        info = await m.install(archive, replace=True)
    assert info.version == "2.0.0"
    assert leftovers(locations.user_plugins) == ["zipped"]
