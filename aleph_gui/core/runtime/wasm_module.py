"""Make a module's start-up code run inside a time-limited call.

Wasmtime runs a module's `start` function while instantiating it, and Extism runs `_initialize`
or `__wasm_call_ctors` right after — both before Extism starts its call timer, so a start-up that
never returns would hang the thread that loads the plugin, with nothing able to stop it. Before a
module is compiled, `prepare_module` therefore:

- replaces the `start` section with an export named `START_EXPORT` of the same function, and
- renames the exports `_initialize` and `__wasm_call_ctors` to `aleph:` + the name,

so instantiating runs no code of the plugin. The runtime then calls those exports itself, in the
order wasmtime and Extism would have (`boot_exports`), as ordinary Extism calls under the
instance's time limit. Both the binary format and WebAssembly text (`.wat`) are handled; anything
this cannot read is refused rather than compiled unchanged.
"""

from __future__ import annotations

import re

START_EXPORT = "aleph:start"
INIT_NAMES = ("__wasm_call_ctors", "_initialize")  # Extism calls the first one the module has
RENAMED_PREFIX = "aleph:"
# Extism calls a Haskell module's `hs_init(0, 0)` outside any time limit, and an export with
# arguments cannot be called through Extism, so such modules are refused.
HASKELL_INIT = "hs_init"

_MAGIC = b"\0asm"
_CORE_VERSION = b"\x01\0\0\0"
_EXPORT, _START = 7, 8
_FUNC_KIND = 0
_BINARY_SPECIAL = {name.encode() for name in (*INIT_NAMES, HASKELL_INIT)}


class ModuleFormatError(ValueError):
    """The module cannot be read (the message says where)."""


class UnsupportedModule(ValueError):
    """A module Aleph will not run (the message says why)."""


def boot_exports() -> list[list[str]]:
    """Exports to call after instantiating, in order; from each inner list, the first that exists."""
    return [[START_EXPORT], [RENAMED_PREFIX + name for name in INIT_NAMES]]


def prepare_module(data: bytes) -> bytes:
    """The module with its start-up code turned into exports (binary or text, as given)."""
    if data[:4] == _MAGIC:
        return _prepare_binary(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModuleFormatError("neither WebAssembly binary nor UTF-8 text") from exc
    return _prepare_text(text).encode("utf-8")


# -- binary format ---------------------------------------------------------------------------------

def _leb_u32(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(5):
        if pos + i >= len(data):
            break
        byte = data[pos + i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + i + 1
        shift += 7
    raise ModuleFormatError(f"bad integer at byte {pos}")


def _u32(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _name(name: bytes) -> bytes:
    return _u32(len(name)) + name


def _prepare_binary(data: bytes) -> bytes:
    if data[4:8] != _CORE_VERSION:
        raise ModuleFormatError("not a core WebAssembly module (components are not supported)")
    sections: list[tuple[int, bytes]] = []
    pos = 8
    while pos < len(data):
        size, begin = _leb_u32(data, pos + 1)
        if begin + size > len(data):
            raise ModuleFormatError(f"section at byte {pos} runs past the end of the file")
        sections.append((data[pos], data[begin:begin + size]))
        pos = begin + size
    ids = [sid for sid, _ in sections]
    if ids.count(_EXPORT) > 1 or ids.count(_START) > 1:
        raise ModuleFormatError("more than one export or start section")
    start = next((_leb_u32(body, 0)[0] for sid, body in sections if sid == _START), None)
    if start is None and not any(sid == _EXPORT for sid, _ in sections):
        return data
    out = bytearray(data[:8])
    for sid, body in sections:
        if sid == _START:
            if _EXPORT in ids:
                continue  # its export went into the existing export section
            sid, body = _EXPORT, _exports_binary(b"\0", start)
        elif sid == _EXPORT:
            body = _exports_binary(body, start)
        out += bytes([sid]) + _u32(len(body)) + body
    return bytes(out)


def _exports_binary(body: bytes, start: int | None) -> bytes:
    count, pos = _leb_u32(body, 0)
    entries = []
    for _ in range(count):
        length, pos = _leb_u32(body, pos)
        name, pos = body[pos:pos + length], pos + length
        if pos >= len(body):
            raise ModuleFormatError("export section is cut short")
        kind, (index, pos) = body[pos], _leb_u32(body, pos + 1)
        if kind == _FUNC_KIND and name in _BINARY_SPECIAL:  # other names stay byte for byte
            name = _renamed(name.decode()).encode()
        entries.append(_name(name) + bytes([kind]) + _u32(index))
    if start is not None:
        entries.append(_name(START_EXPORT.encode()) + bytes([_FUNC_KIND]) + _u32(start))
    return _u32(len(entries)) + b"".join(entries)


def _renamed(name: str) -> str:
    if name == HASKELL_INIT:
        raise UnsupportedModule("it exports hs_init (a Haskell runtime), whose start-up cannot be "
                                "time-limited")
    return RENAMED_PREFIX + name if name in INIT_NAMES else name


# -- text format -----------------------------------------------------------------------------------

# Only what shapes the text: parentheses, strings and comments (atoms between them are skipped in
# bulk; a form's head word is read right after its '('). A lone '"' is a string never closed.
_SCAN = re.compile(r'\(;|\(|\)|"(?:[^"\\]|\\.)*"|;;[^\n]*|"', re.DOTALL)
_HEAD = re.compile(r"\s*([^\s()\";]*)")
_START_TARGET = re.compile(r"(?:\s+|;;[^\n]*|\(;.*?;\))*([^\s()\";]+)", re.DOTALL)  # its function, past comments
_MODULE_FORM = re.compile(r"\s*(?:\$[^\s()\";]+\s*)?(binary|quote)\b")


class _Open:
    """A form whose ')' has not been read yet."""

    __slots__ = ("head", "start", "head_end", "name", "child_heads")

    def __init__(self, head: str, start: int, head_end: int) -> None:
        self.head, self.start, self.head_end = head, start, head_end
        self.name: tuple[int, int, str] | None = None  # its first string (an export's name)
        self.child_heads: set[str] = set()


def _skip_block_comment(text: str, pos: int) -> int:
    depth = 1
    while depth:
        nxt = min((i for i in (text.find("(;", pos), text.find(";)", pos)) if i >= 0), default=-1)
        if nxt < 0:
            raise ModuleFormatError("a block comment (; is never closed")
        depth += 1 if text.startswith("(;", nxt) else -1
        pos = nxt + 2
    return pos


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _string_value(token: str) -> str:
    """The characters a WAT string literal stands for (escapes resolved)."""
    out, i, body = [], 0, token[1:-1]
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
        elif body[i + 1] in _ESCAPES:
            out.append(_ESCAPES[body[i + 1]])
            i += 2
        elif body[i + 1] == "u":
            close = body.index("}", i)
            out.append(chr(int(body[i + 3:close].replace("_", ""), 16)))
            i = close + 1
        else:
            out.append(chr(int(body[i + 1:i + 3], 16)))  # a raw byte; only compared with ASCII names
            i += 3
    return "".join(out)


def _rename_edit(form: _Open) -> tuple[int, int, str] | None:
    """For `(export "name" ...)`: the name token to replace, if it must be renamed."""
    if form.name is None:
        return None
    start, end, token = form.name
    try:
        name = _string_value(token)
    except (ValueError, IndexError) as exc:
        raise ModuleFormatError(f"bad export name {token[:40]}") from exc
    renamed = _renamed(name)
    return (start, end, f'"{renamed}"') if renamed != name else None


def _prepare_text(text: str) -> str:
    edits: list[tuple[int, int, str]] = []
    stack: list[_Open] = []
    fields_at = -1  # stack depth of module fields: 1 inside (module ...), 0 without it
    pos = 0
    while (match := _SCAN.search(text, pos)) is not None:
        token, pos = match.group(), match.end()
        if token == "(;":
            pos = _skip_block_comment(text, pos)
        elif token == '"':
            raise ModuleFormatError(f"a string at character {match.start()} is never closed")
        elif token.startswith(";;"):
            continue
        elif token == "(":
            head = _HEAD.match(text, pos)
            assert head is not None  # the pattern also matches nothing
            if not stack:
                if fields_at < 0:
                    fields_at = 1 if head.group(1) == "module" else 0
                elif fields_at == 1:
                    raise ModuleFormatError("more than one module in the file")
                if fields_at == 1 and _MODULE_FORM.match(text, head.end()):
                    raise ModuleFormatError("(module binary ...) and (module quote ...) are not supported")
            else:
                stack[-1].child_heads.add(head.group(1))
            stack.append(_Open(head.group(1), match.start(), head.end()))
        elif token == ")":
            if not stack:
                raise ModuleFormatError(f"unbalanced ')' at character {match.start()}")
            form = stack.pop()
            depth = len(stack)
            if depth == fields_at and form.head == "start":
                target = _START_TARGET.match(text, form.head_end, match.start())
                if target is None:
                    raise ModuleFormatError(f"cannot read the start function at character {form.start}")
                edits.append((form.start, pos, f'(export "{START_EXPORT}" (func {target.group(1)}))'))
            elif form.head == "export" and (
                    (depth == fields_at and "func" in form.child_heads)
                    or (depth == fields_at + 1 and stack[-1].head == "func")):
                edit = _rename_edit(form)
                edits.extend([edit] if edit else [])
        elif stack and stack[-1].name is None:  # a string: the first one of its form
            stack[-1].name = (match.start(), pos, token)
    if stack:
        raise ModuleFormatError("a '(' is never closed")
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text
