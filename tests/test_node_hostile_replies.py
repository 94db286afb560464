"""A Node plugin's hostile replies fail that one call with one clear sentence (issue 13, finding 10).

Before the fix a reply nested deeper than Python can decode printed a Python traceback and left
the call waiting for its timeout, and a 100 KB error message was passed to the user whole.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from node_support import make_runtime, needs_node

from aleph_gui.core.errors import PLUGIN_TEXT_CAP, TRUNCATED, PluginCallError

pytestmark = needs_node

Run = Callable[..., subprocess.CompletedProcess]

MANIFEST = ('[plugin]\nid = "hostile"\nversion = "1.0.0"\nkind = "nodejs"\nentry = "server.js"\n\n'
            '[[tools]]\nname = "deep"\nhandler = "deep"\n\n[[tools]]\nname = "loud"\nhandler = "loud"\n\n'
            '[[tools]]\nname = "fine"\nhandler = "fine"\n')
SERVER = r"""'use strict';
const readline = require('node:readline');
const out = (s) => process.stdout.write(s + '\n');
out(JSON.stringify({ jsonrpc: '2.0', id: 'init', result: {} }));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line);
  if (msg.id === undefined) return;
  if (msg.method === 'ping') return out(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: 'pong' }));
  const handler = msg.params.handler;
  if (handler === 'deep') {
    return out('{"jsonrpc":"2.0","id":' + msg.id + ',"result":' + '['.repeat(100000) + ']'.repeat(100000) + '}');
  }
  if (handler === 'loud') {
    return out(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32000, message: 'e'.repeat(100000) } }));
  }
  out(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: 'still here' }));
});
"""


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins" / "hostile"
    folder.mkdir(parents=True)
    (folder / "aleph.plugin.toml").write_text(MANIFEST)
    (folder / "server.js").write_text(SERVER)
    return folder


async def test_a_reply_nested_too_deeply_fails_that_call_and_the_plugin_keeps_serving(
        hostile: Path, tmp_path: Path) -> None:
    harness = make_runtime(hostile, tmp_path / "home")
    await harness.runtime.start()
    try:
        with pytest.raises(PluginCallError) as err:
            await harness.runtime.call_tool("deep", {})
        assert str(err.value) == "hostile: tool 'deep' failed: answered with JSON nested too deeply to read"
        assert await harness.runtime.call_tool("fine", {}) == "still here"
    finally:
        await harness.runtime.stop()


async def test_a_huge_error_message_is_cut(hostile: Path, tmp_path: Path) -> None:
    harness = make_runtime(hostile, tmp_path / "home")
    await harness.runtime.start()
    try:
        with pytest.raises(PluginCallError) as err:
            await harness.runtime.call_tool("loud", {})
    finally:
        await harness.runtime.stop()
    message = str(err.value)
    assert message.endswith("e" * PLUGIN_TEXT_CAP + TRUNCATED) and len(message) < PLUGIN_TEXT_CAP + 200


def test_the_cli_says_one_sentence_and_prints_no_traceback(hostile: Path, aleph_ext: Run, home: Path) -> None:
    (home / "plugins" / "hostile").mkdir()
    for item in hostile.iterdir():
        (home / "plugins" / "hostile" / item.name).write_bytes(item.read_bytes())
    aleph_ext("grant", "hostile", check=True)
    deep = aleph_ext("call", "hostile", "deep", "--input", "{}")
    assert deep.returncode != 0
    assert "Traceback" not in deep.stderr and "RecursionError" not in deep.stderr
    assert deep.stderr.strip().splitlines() == ["aleph-ext: hostile: tool 'deep' failed: answered with JSON nested "
                                                "too deeply to read"]
    loud = aleph_ext("call", "hostile", "loud", "--input", "{}")
    assert loud.returncode != 0 and TRUNCATED in loud.stderr and len(loud.stderr) < PLUGIN_TEXT_CAP + 200
    assert json.loads(aleph_ext("call", "hostile", "fine", "--input", "{}", check=True).stdout) == "still here"
