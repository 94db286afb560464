"""The built-in secret guard (WASM, real Extism, real HookExecutor): every detector blocks with its
kind and the argument's path, the reason never repeats the secret, ordinary text passes, nested
arguments are scanned and `allow_kinds` turns a detector off."""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builtin_support import (
    SECRET_GUARD,
    Loaded,
    load_builtin,
    lorem,
    pem,
    realistic_arguments,
    samples,
    secret_in,
)
from wasm_support import make_runtime

from aleph_gui.core.hooks import HookExecutor
from aleph_gui.core.loader import hook_handlers
from aleph_gui.core.state import StateDB

ALL = samples()
CASES = [(kind, i) for kind, values in ALL.items() for i in range(len(values))]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    db = StateDB(tmp_path / "state.db")
    yield db
    db.close()


async def guard(state: StateDB, **config: Any) -> Loaded:
    return await load_builtin(SECRET_GUARD, state, config)


def assert_not_echoed(reason: str, secret: str) -> None:
    """No run of 8 characters of the secret appears in the reason (nor the whole secret)."""
    assert secret not in reason
    for i in range(len(secret) - 7):
        assert secret[i:i + 8] not in reason, f"the reason repeats part of the secret: {secret[i:i + 8]!r}"


@pytest.mark.parametrize(("kind", "index"), CASES, ids=[f"{k}-{i}" for k, i in CASES])
async def test_each_detector_blocks_with_its_kind_and_never_the_secret(state: StateDB, kind: str,
                                                                       index: int) -> None:
    secret = ALL[kind][index]
    g = await guard(state)
    result = await g.call("write_file", {"path": "/tmp/out.txt", "content": secret})
    assert result.decision == "block", f"{kind} was not detected in {secret[:12]!r}..."
    assert f"(detector {kind})" in result.reason
    assert "The argument arguments.content holds what looks like" in result.reason
    assert f'add "{kind}" to secret-guard\'s allow_kinds setting' in result.reason
    assert_not_echoed(result.reason, secret_in(secret))
    assert [(r.plugin, r.decision) for r in result.trace] == [("secret-guard", "block")]


async def test_the_reason_names_the_kind_in_words(state: StateDB) -> None:
    g = await guard(state)
    labels = {"private_key": "a private key block", "aws_access_key_id": "an AWS access key id",
              "github_token": "a GitHub token", "openai_key": "an OpenAI API key",
              "anthropic_key": "an Anthropic API key", "google_api_key": "a Google API key"}
    for kind, label in labels.items():
        result = await g.call("run", {"input": ALL[kind][0]})
        assert f"holds what looks like {label} (detector {kind})" in result.reason


NEAR_MISSES = {
    "sk- in prose": "Keys that start with sk- are OpenAI's; scikit-learn is sk-learn, and a risk-assessment "
                    "is not a key. The sk-this-is-a-long-kebab-case-identifier-name has no digits.",
    "a bare AKIA": "AKIA",
    "a short AKIA word": "AKIA1234 and ASIA are words here",
    "AWS's documented example id": "AKIA" + "IOSFODNN7EXAMPLE",
    "a public key and a certificate": pem("PUBLIC KEY") + pem("CERTIFICATE"),
    "a private key header without a key": "Paste it between -----BEGIN RSA PRIVATE KEY----- and the END line.",
    "short token-like words": "ghp_short gho_ xoxo-gossip-girl npm_config_cache=/tmp/npm hf_hub_download sk_live_",
    "a placeholder secret key": "AWS_SECRET_ACCESS_KEY=<your-secret-access-key-goes-here-please>",
    "an unnamed 40-character base64 value": "checksum=" + "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2Fy",
    "hashes and ids": "commit 3f2b8c1e9a7d4b6c5e0f1a2b3c4d5e6f7a8b9c0d, id " + str(uuid.UUID(int=7)),
    "a base64 blob without a prefix": base64.b64encode(random.Random(1).randbytes(3000)).decode(),
    "4 KB of lorem ipsum": lorem(4096),
    "a token glued to a word": "mytoken" + ALL["github_token"][0],
}


@pytest.mark.parametrize("text", NEAR_MISSES.values(), ids=NEAR_MISSES.keys())
async def test_ordinary_text_and_near_misses_continue(state: StateDB, text: str) -> None:
    g = await guard(state)
    result = await g.call("write_file", {"path": "notes.md", "content": text})
    assert result.decision == "continue", result.reason
    assert [(r.plugin, r.decision, r.error) for r in result.trace] == [("secret-guard", "continue", "")]


async def test_realistic_4kb_arguments_continue(state: StateDB) -> None:
    g = await guard(state)
    args = realistic_arguments(4096)
    assert 4000 <= len(json.dumps(args)) <= 4200
    assert (await g.call("write_file", args)).decision == "continue"


async def test_nested_lists_and_objects_are_scanned_and_the_path_says_where(state: StateDB) -> None:
    g = await guard(state)
    token = ALL["github_token"][0]
    args = {"steps": [{"run": "echo hi"}, {"run": "deploy", "env": {"CI": "1", "GITHUB_TOKEN": token}}]}
    result = await g.call("run_workflow", args)
    assert result.decision == "block"
    assert result.reason.startswith("The argument arguments.steps[1].env.GITHUB_TOKEN holds what looks like "
                                    "a GitHub token")
    in_list = await g.call("run", {"argv": ["curl", "-H", "Authorization: Bearer " + ALL["openai_key"][0]]})
    assert in_list.decision == "block" and "arguments.argv[2]" in in_list.reason
    deep: Any = ALL["npm_token"][0]
    for i in range(40):
        deep = {f"level{i}": [deep]}
    result = await g.call("run", deep)
    assert result.decision == "block" and "npm access token" in result.reason
    assert result.reason.startswith("The argument arguments.…[0].level5[0].level4") and ".level0[0] holds" in result.reason


async def test_claude_tool_input_and_arguments_sent_as_a_json_string_are_scanned(state: StateDB) -> None:
    g = await guard(state)
    result = await g.call("Bash", {"command": "git push https://x:" + ALL["gitlab_token"][0] + "@gitlab.com/a/b"},
                          plugin=None, spelling="tool_input")
    assert result.decision == "block" and "The argument tool_input.command holds" in result.reason
    as_text = await g.call("call", json.dumps({"key": ALL["private_key"][0]}))
    assert as_text.decision == "block" and "The argument arguments holds what looks like a private key block" \
        in as_text.reason


async def test_only_the_arguments_are_scanned(state: StateDB) -> None:
    g = await guard(state)
    result = await g.executor.fire("before_tool_call", {"tool_name": "read", "plugin": "files",
                                                        "session_note": ALL["github_token"][0],
                                                        "arguments": {"path": "a.txt"}})
    assert result.decision == "continue"


async def test_a_secret_in_an_object_key_is_found_without_showing_the_key(state: StateDB) -> None:
    g = await guard(state)
    token = ALL["stripe_key"][0]
    result = await g.call("set", {"headers": {token: "x"}})
    assert result.decision == "block"
    assert result.reason.startswith("An object key inside the argument arguments.headers holds what looks like "
                                    "a Stripe live secret key")
    assert_not_echoed(result.reason, token)


@pytest.mark.parametrize("offset", range(0, 40))
async def test_secrets_are_found_at_every_offset_and_after_escapes(state: StateDB, offset: int) -> None:
    # the scan reads 16 bytes at a time: a secret must be found wherever it falls in a chunk,
    # after escaped characters (\n, \u00e9) and in the last bytes of a string
    g = await guard(state)
    token = ALL["github_token"][0]
    for prefix in (" " * offset, "\n" * offset, "é" * offset, "a b " * offset):
        assert (await g.call("run", {"text": prefix + token})).decision == "block", repr(prefix[:3])
        assert (await g.call("run", {"text": prefix + token + " and more"})).decision == "block"
    if offset:
        # not at the start of a word: not a token (the same at every offset)
        assert (await g.call("run", {"text": " " + "x" * offset + token})).decision == "continue"


async def test_allow_kinds_turns_a_detector_off_and_only_that_one(state: StateDB) -> None:
    g = await guard(state, allow_kinds=["github_token", "openai_key"])
    assert (await g.call("run", {"t": ALL["github_token"][0]})).decision == "continue"
    assert (await g.call("run", {"t": ALL["openai_key"][0]})).decision == "continue"
    blocked = await g.call("run", {"t": ALL["github_token"][0] + " " + ALL["private_key"][0]})
    assert blocked.decision == "block" and "(detector private_key)" in blocked.reason
    # a key holding an allowed secret is not shown in the path of another finding
    token = ALL["github_token"][0]
    nested = await g.call("run", {token: {"key": ALL["aws_access_key_id"][0]}})
    assert nested.decision == "block"
    assert "arguments.<a key that looks like a secret>.key" in nested.reason
    assert_not_echoed(nested.reason, token)


async def test_an_unknown_allow_kinds_name_is_reported_in_the_plugin_log(state: StateDB) -> None:
    g = await guard(state, allow_kinds=["github-token", "npm_token"])
    assert (await g.call("run", {"t": ALL["npm_token"][0]})).decision == "continue"
    assert (await g.call("run", {"t": ALL["github_token"][0]})).decision == "block"
    warnings = [msg for level, msg in g.harness.logs if level == "warning"]
    assert len(warnings) == 1 and "allow_kinds names 'github-token', which is not a detector" in warnings[0]
    assert "github_token" in warnings[0]  # the known names are listed


async def test_an_aws_secret_key_is_found_by_its_name_as_an_object_key(state: StateDB) -> None:
    g = await guard(state)
    value = secret_in(ALL["aws_secret_access_key"][0])
    result = await g.call("configure", {"env": {"AWS_ACCESS_KEY_ID": "AKIA" + "IOSFODNN7EXAMPLE",
                                                "AWS_SECRET_ACCESS_KEY": value}})
    assert result.decision == "block"
    assert result.reason.startswith("The argument arguments.env.AWS_SECRET_ACCESS_KEY holds what looks like an "
                                    "AWS secret access key")
    # the same value under another name is just a string
    assert (await g.call("configure", {"env": {"CHECKSUM": value}})).decision == "continue"


async def test_many_blocked_calls_do_not_exhaust_the_plugins_memory(state: StateDB) -> None:
    # Each block builds its answer in WASM memory and the plugin frees it after the call: with
    # 1 MiB of memory, a leak of its ~1 KB answer would run out within a thousand calls.
    g = await guard(state)
    small = g.manifest.model_copy(update={"limits": g.manifest.limits.model_copy(update={"memory_mb": 1})})
    harness = make_runtime(SECRET_GUARD, small, state)
    await harness.runtime.start()
    executor = HookExecutor()
    for handler in hook_handlers(small, harness.runtime):
        executor.add(handler)
    secret = ALL["anthropic_key"][0]
    for _ in range(3000):
        result = await executor.fire("before_tool_call", {"tool_name": "run", "arguments": {"text": secret}})
        assert result.decision == "block", result.trace[0].error
    assert harness.runtime.status()["failures"] == 0
