"""Start-up code is found however the module spells it: binary or text, escaped names, and the forms
that cannot be read are refused rather than loaded unchecked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from wasm_support import DATA, make_runtime, manifest

from aleph_gui.core.errors import ManifestError, PluginTimeout
from aleph_gui.core.runtime.wasm import LATE_STARTS
from aleph_gui.core.state import StateDB

HEADER = b"\0asm\x01\0\0\0"
TYPE_VOID = b"\x01\x04\x01\x60\x00\x00"  # one type: () -> ()
ONE_FUNC = b"\x03\x02\x01\x00"  # one function of type 0
CODE_LOOP = b"\x0a\x09\x01\x07\x00\x03\x40\x0c\x00\x0b\x0b"  # loop { br 0 }
CODE_EMPTY = b"\x0a\x04\x01\x02\x00\x0b"


def _u32(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _slow_to_compile(functions: int = 2000, steps: int = 400) -> bytes:
    """A valid module that takes the compiler about a second or two: many long functions."""
    section = lambda sid, body: bytes([sid]) + _u32(len(body)) + body  # noqa: E731
    ops = b"\x20\x00" + b"\x41\x07\x6c\x20\x00\x6a" * steps  # x; (* 7 + x) repeated
    body = b"\x00" + ops + b"\x0b"
    return (HEADER + section(1, b"\x01\x60\x01\x7f\x01\x7f") + section(3, _u32(functions) + b"\x00" * functions)
            + section(10, _u32(functions) + (_u32(len(body)) + body) * functions))


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    db = StateDB(tmp_path / "home" / "state.db")
    yield db
    db.close()


def _folder(tmp_path: Path, name: str, content: bytes | str) -> Path:
    root = tmp_path / "plugin"
    root.mkdir()
    path = root / name
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return root


@pytest.mark.timeout(60)
async def test_a_binary_start_section_that_never_returns_is_stopped(tmp_path: Path, state: StateDB) -> None:
    start_section = b"\x08\x01\x00"
    root = _folder(tmp_path, "loop.wasm", HEADER + TYPE_VOID + ONE_FUNC + start_section + CODE_LOOP)
    h = make_runtime(root, manifest("loop.wasm", tools={"x": "x"}, tool_timeout_ms=200), state)
    with pytest.raises(PluginTimeout, match="loop.wasm did not finish starting within 200 ms and was stopped"):
        await h.runtime.start()


@pytest.mark.timeout(60)
async def test_an_escaped_initialize_export_in_text_is_still_stopped(tmp_path: Path, state: StateDB) -> None:
    text = (DATA / "init_loop.wat").read_text()
    spelled = text.replace('(func (export "_initialize") (loop $l (br $l)))',
                           '(func $init (loop $l (br $l)))\n  (; a comment (; nested ;) ;)\n'
                           '  (export "\\5finitialize" (func $init))')
    assert spelled != text
    root = _folder(tmp_path, "init.wat", spelled)
    h = make_runtime(root, manifest("init.wat", tools={"echo": "echo"}, tool_timeout_ms=200), state)
    with pytest.raises(PluginTimeout, match="init.wat did not finish starting within 200 ms"):
        await h.runtime.start()


@pytest.mark.timeout(60)
async def test_a_start_field_with_comments_inside_is_still_stopped(tmp_path: Path, state: StateDB) -> None:
    text = (DATA / "start_loop.wat").read_text()
    spelled = text.replace("(start $forever)", "(start ;; the entry point\n    (; block ;) $forever)")
    assert spelled != text
    root = _folder(tmp_path, "commented.wat", spelled)
    h = make_runtime(root, manifest("commented.wat", tools={"echo": "echo"}, tool_timeout_ms=200), state)
    with pytest.raises(PluginTimeout, match="commented.wat did not finish starting within 200 ms"):
        await h.runtime.start()


async def test_a_haskell_module_is_refused_with_its_reason(tmp_path: Path, state: StateDB) -> None:
    export_hs_init = b"\x07\x0b\x01\x07hs_init\x00\x00"
    root = _folder(tmp_path, "hs.wasm", HEADER + TYPE_VOID + ONE_FUNC + export_hs_init + CODE_EMPTY)
    h = make_runtime(root, manifest("hs.wasm", tools={"x": "x"}), state)
    with pytest.raises(ManifestError, match=r"hs.wasm cannot be loaded: it exports hs_init \(a Haskell runtime\)"):
        await h.runtime.start()


@pytest.mark.parametrize(("text", "reason"), [
    ('(module binary "\\00asm\\01\\00\\00\\00")', r"\(module binary ...\) and \(module quote ...\) are not supported"),
    ("(module (func $f) (start $f)", "a '\\(' is never closed"),
    ("(module (; never closed", r"a block comment \(; is never closed"),
])
async def test_text_that_cannot_be_read_is_refused(tmp_path: Path, state: StateDB, text: str, reason: str) -> None:
    root = _folder(tmp_path, "bad.wat", text)
    h = make_runtime(root, manifest("bad.wat", tools={"x": "x"}), state)
    with pytest.raises(ManifestError, match=f"bad.wat is not a valid WebAssembly module \\({reason}"):
        await h.runtime.start()


@pytest.mark.timeout(120)
async def test_a_load_that_outlasts_the_limit_is_given_up_and_ends_by_itself(tmp_path: Path, state: StateDB,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXTISM_CACHE_CONFIG", "")  # compile for real, and leave nothing in wasmtime's cache
    root = _folder(tmp_path, "big.wasm", _slow_to_compile())
    h = make_runtime(root, manifest("big.wasm", tools={"f": "f"}, tool_timeout_ms=10), state)
    with pytest.raises(PluginTimeout, match=r"big.wasm did not finish starting within 10 ms$"):
        await h.runtime.start()
    # the compile went on off the loop, counted in LATE_STARTS; it ends by itself
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while LATE_STARTS.running and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert LATE_STARTS.running == 0
    assert h.runtime.status()["running"] is False  # a load given up on never comes alive later
