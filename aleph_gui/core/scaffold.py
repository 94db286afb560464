"""`aleph-ext init NAME --kind wasm|nodejs|static`: a working plugin folder that passes `validate` and runs.

The WASM template is WebAssembly text (Extism compiles `.wat` directly), so it runs with no toolchain;
docs/wasm-plugins.md shows how to move to AssemblyScript, Rust or Go.
"""

from __future__ import annotations

import json
from pathlib import Path

from aleph_gui.core.errors import AlephError
from aleph_gui.core.manifest.ids import ID_RULE, is_valid_id, sanitize_id

WAT_TEMPLATE = """\
;; {name}: a minimal Aleph WASM plugin in WebAssembly text.
;; `echo` returns its JSON input unchanged; `on_message` answers nothing (= continue).
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (func (export "echo") (result i32)
    (local $n i64) (local $i i64) (local $o i64)
    (local.set $n (call $input_length))
    (local.set $o (call $alloc (local.get $n)))
    (block $done (loop $copy
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $o) (local.get $i)) (call $input_load_u8 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $copy)))
    (call $output_set (local.get $o) (local.get $n))
    (i32.const 0))
  (func (export "on_message") (result i32)
    (i32.const 0)))
"""

WASM_MANIFEST = """\
[plugin]
id = "{id}"
name = "{name}"
version = "0.1.0"
description = "A new Aleph WASM plugin"
kind = "wasm"
entry = "plugin.wat"

[[capabilities]]
type = "tool"
name = "echo"
description = "Return the arguments unchanged"
parameters = {{ type = "object" }}

[[capabilities]]
type = "hook"
event = "message_received"
handler = "on_message"

[scope]
allowed_apis = ["log"]
"""

NODE_INDEX = """\
'use strict';
// {name}: a module-shape Aleph plugin. The app's host script calls register(api).
module.exports.register = function register(api) {{
  api.registerTool({{
    name: 'greet',
    description: 'Say hello to someone',
    parameters: {{ type: 'object', properties: {{ name: {{ type: 'string' }} }}, required: ['name'] }},
    async execute(args) {{
      api.log('info', `greeting ${{args.name}}`);
      return {{ greeting: `Hello, ${{args.name}}!` }};
    }},
  }});
  api.on('message_received', (event) => ({{ action: 'continue' }}), {{ priority: 0 }});
}};
"""

STATIC_SKILL = """\
---
name: {skill}
description: Explain what this skill does and when the assistant should use it.
---

# {name}

Write the instructions for the assistant here.
"""

STATIC_MANIFEST = """\
[plugin]
id = "{id}"
name = "{name}"
version = "0.1.0"
description = "Skills and commands for Aleph"
kind = "static"

[[capabilities]]
type = "skill"
name = "{skill}"
description = "Explain what this skill does"
"""


def plugin_files(plugin_id: str, name: str, kind: str) -> dict[str, str]:
    if kind == "wasm":
        return {"aleph.plugin.toml": WASM_MANIFEST.format(id=plugin_id, name=name),
                "plugin.wat": WAT_TEMPLATE.format(name=name)}
    if kind == "nodejs":
        package = {"name": plugin_id, "version": "0.1.0", "description": "A new Aleph Node.js plugin",
                   "main": "index.js", "private": True,
                   "aleph": {"kind": "nodejs", "shape": "module",
                             "capabilities": [
                                 {"type": "tool", "name": "greet", "description": "Say hello to someone",
                                  "parameters": {"type": "object", "properties": {"name": {"type": "string"}},
                                                 "required": ["name"]}},
                                 {"type": "hook", "event": "message_received", "handler": "message_received"}],
                             "scope": {"allowed_apis": ["log"]}}}
        return {"package.json": json.dumps(package, indent=2) + "\n", "index.js": NODE_INDEX.format(name=name)}
    if kind == "static":
        skill = f"{plugin_id}-guide"
        return {"aleph.plugin.toml": STATIC_MANIFEST.format(id=plugin_id, name=name, skill=skill),
                f"skills/{skill}/SKILL.md": STATIC_SKILL.format(skill=skill, name=name)}
    raise AlephError(None, f"unknown plugin kind '{kind}'; choose wasm, nodejs or static")


def create_plugin(name: str, kind: str = "static", parent: str | Path | None = None) -> Path:
    """Write a new plugin folder `<parent>/<id>`; refuses to overwrite an existing folder."""
    plugin_id = name if is_valid_id(name) else sanitize_id(name)
    if not is_valid_id(plugin_id):
        raise AlephError(None, f"'{name}' cannot be turned into a plugin id: {ID_RULE}")
    folder = Path(parent or Path.cwd()).expanduser() / plugin_id
    if folder.exists():
        raise AlephError(plugin_id, f"{folder} already exists; choose another name or folder")
    files = plugin_files(plugin_id, name, kind)
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder
