"""Installing hostile zip archives: traversal and absolute names, symlink entries, duplicates, file/folder
clashes, zip bombs by size ratio and corrupted bytes. Each archive is either installed as a valid plugin
inside the target or refused with an `InstallError`; nothing is ever written outside the target."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fuzzkit import Scratch, counted, fuzz_settings, odd_text
from hypothesis import given
from hypothesis import strategies as st

from aleph_gui.core.errors import AlephError
from aleph_gui.core.install import InstallError, stage, unpack_zip

MANIFEST = b'[plugin]\nid = "zipped"\nname = "Zipped"\nversion = "1.0.0"\nkind = "static"\n'
BOMB_BYTES = 9 * 1024 * 1024  # zeros: about 1000:1, past the installer's 8 MiB floor for the ratio check


@dataclass
class Member:
    name: str
    data: bytes = b""
    symlink: bool = False
    directory: bool = False
    method: int = zipfile.ZIP_DEFLATED


HOSTILE_NAMES = ["../evil", "../../evil", "a/../../evil", "/abs/evil", "//evil", "\\evil", "C:/evil", "c:evil",
                 "a\\..\\..\\evil", "..", ".", "", "./", "zipped/../../evil", "~/evil", "zipped/./x",
                 "zipped/aleph.plugin.toml", "zipped/", "zipped/sub/", "zipped/sub", "zipped/sub/file",
                 "zipped/a.txt", "zipped/a.txt/inner", "aleph.plugin.toml", "x" * 300, "zipped/" + "d/" * 60 + "f",
                 "zipped/\u202eevil.txt", "zipped/nul\x00name"]


@st.composite
def members(draw: st.DrawFn) -> Member:
    name = draw(st.one_of(st.sampled_from(HOSTILE_NAMES), odd_text.map(lambda t: "zipped/" + t)))
    # Bombs are rare here (building one costs 0.1 s); test_zip_bombs_are_refused covers them for sure.
    kind = draw(st.sampled_from(["file"] * 12 + ["manifest"] * 4 + ["symlink"] * 4 + ["dir"] * 4 + ["bomb"]))
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
    if kind == "symlink":
        target = draw(st.sampled_from(["/etc/passwd", "../../outside", "aleph.plugin.toml", "/"]))
        return Member(name, target.encode(), symlink=True)
    if kind == "dir":
        return Member(name.rstrip("/") + "/", directory=True)
    if kind == "manifest":
        return Member(name, MANIFEST, method=method)
    if kind == "bomb":
        return Member(name, b"\0" * BOMB_BYTES, method=zipfile.ZIP_DEFLATED)
    return Member(name, draw(st.binary(max_size=64)), method=method)


def build_zip(items: list[Member]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for m in items:
            info = zipfile.ZipInfo(m.name)
            info.compress_type = m.method
            if m.symlink:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            elif m.directory:
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, m.data, compresslevel=1 if m.method == zipfile.ZIP_DEFLATED else None)
    return buf.getvalue()


@st.composite
def archives(draw: st.DrawFn) -> tuple[bytes, list[Member]]:
    items = draw(st.lists(members(), max_size=6))
    if draw(st.booleans()):  # most archives also hold a real plugin, so that installing can succeed
        items.insert(0, Member("zipped/aleph.plugin.toml", MANIFEST))
    data = build_zip(items)
    how = draw(st.sampled_from(["intact", "intact", "intact", "flip", "truncate", "junk"]))
    if how == "flip" and data:
        raw = bytearray(data)
        for pos in draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8)):
            raw[pos] ^= draw(st.integers(1, 255))
        data = bytes(raw)
    elif how == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "junk":
        data = draw(st.binary(max_size=200))
    return data, items


def _tree(root: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def _no_links_or_escape(target: Path) -> None:
    real = target.resolve()
    for dirpath, dirnames, filenames in os.walk(target):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            assert not path.is_symlink(), f"a symlink was installed: {path}"
            assert real in path.resolve().parents


def test_hostile_zip_archives_install_inside_the_target_or_are_refused(tmp_path: Path, fuzz_cases: int) -> None:
    @fuzz_settings(fuzz_cases)
    @given(archive=archives())
    @counted("zip-install")
    def check(archive: tuple[bytes, list[Member]]) -> None:
        data, items = archive
        with Scratch(tmp_path / "cases") as base:
            outside = base / "outside"
            outside.mkdir()
            (outside / "keep.txt").write_text("keep")
            target_parent = base / "home" / "plugins"
            zip_path = base / "upload" / "plugin.zip"
            zip_path.parent.mkdir()
            zip_path.write_bytes(data)
            before = _tree(base)
            try:
                root, found = stage(zip_path, target_parent)
            except AlephError as exc:
                assert isinstance(exc, InstallError), type(exc)
                assert str(exc).strip()
                # Refused: nothing left behind anywhere, not even in the staging folder (the empty
                # user plugins folder may now exist).
                assert _tree(base) - {"home", os.path.join("home", "plugins")} == before, _tree(base) ^ before
            else:
                assert found.valid and found.id == "zipped"
                assert target_parent.resolve() in root.resolve().parents
                _no_links_or_escape(target_parent)
                assert {p for p in _tree(base) if not p.startswith("home")} == \
                    {p for p in before if not p.startswith("home")}
                # What could not be installed safely never is: no link, no bomb, no name leaving the folder.
                assert not any(m.symlink for m in items)
                assert not any(len(m.data) == BOMB_BYTES for m in items)
            assert (outside / "keep.txt").read_text() == "keep" and _tree(outside) == {"keep.txt"}

    check()


def test_unpack_zip_refuses_or_writes_only_inside(tmp_path: Path, fuzz_cases: int) -> None:
    """`unpack_zip` on its own (what `stage` calls): the same promise without the manifest check."""

    @fuzz_settings(fuzz_cases)
    @given(archive=archives())
    @counted("zip-unpack")
    def check(archive: tuple[bytes, list[Member]]) -> None:
        data, _ = archive
        with Scratch(tmp_path / "cases") as base:
            zip_path = base / "a.zip"
            zip_path.write_bytes(data)
            target = base / "target"
            target.mkdir()
            try:
                unpack_zip(zip_path, target)
            except InstallError as exc:
                assert str(exc).strip()
            _no_links_or_escape(target)
            assert _tree(base) - {"a.zip", "target"} == {p for p in _tree(base) if p.startswith("target" + os.sep)}

    check()


def test_zip_bombs_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    one_bomb = [Member("zipped/aleph.plugin.toml", MANIFEST), Member("zipped/zeros.bin", b"\0" * BOMB_BYTES)]
    many_small = [Member("zipped/aleph.plugin.toml", MANIFEST)] + [
        Member(f"zipped/part{i}.bin", b"\0" * (1024 * 1024)) for i in range(12)]
    for name, items in (("one", one_bomb), ("many", many_small)):
        archive = tmp_path / f"{name}.zip"
        archive.write_bytes(build_zip(items))
        target = tmp_path / f"target-{name}"
        target.mkdir()
        try:
            unpack_zip(archive, target)
        except InstallError as exc:
            assert "zip bomb" in str(exc)
        else:
            raise AssertionError(f"the {name} bomb archive was unpacked")
        assert _tree(target) == set()
