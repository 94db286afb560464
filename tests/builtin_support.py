"""Helpers for the built-in plugins' tests: load one from aleph_gui/builtin_plugins into a real
WasmRuntime and a real HookExecutor, and build tool-call events.

Credential-shaped test values are assembled at run time from pieces (as Docker's gateway tests
do), so secret scanners never flag this repository for them."""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasm_support import Harness, load_demo, make_runtime

from aleph_gui.core.hooks import FireResult, HookExecutor
from aleph_gui.core.loader import hook_handlers
from aleph_gui.core.manifest.model import PluginManifest
from aleph_gui.core.paths import BUILTIN_PLUGINS
from aleph_gui.core.state import StateDB

SECRET_GUARD = BUILTIN_PLUGINS / "secret-guard"
RATE_LIMITER = BUILTIN_PLUGINS / "tool-rate-limiter"


@dataclass
class Loaded:
    """One built-in plugin running in a real WasmRuntime, its hooks in a real HookExecutor."""

    manifest: PluginManifest
    harness: Harness
    executor: HookExecutor

    async def call(self, tool: str, arguments: Any, *, plugin: str | None = "files",
                   spelling: str = "arguments") -> FireResult:
        """Fire before_tool_call the way the host does for a call of `plugin`'s `tool`."""
        data: dict[str, Any] = {"tool_name": tool, spelling: arguments}
        if plugin is not None:
            data["plugin"] = plugin
        return await self.executor.fire("before_tool_call", data)


async def load_builtin(folder: Path, state: StateDB, config: dict[str, Any] | None = None) -> Loaded:
    manifest = load_demo(folder)
    harness = make_runtime(folder, manifest, state, config=config)
    await harness.runtime.start()
    executor = HookExecutor()
    for handler in hook_handlers(manifest, harness.runtime):
        executor.add(handler)
    return Loaded(manifest, harness, executor)


def random_text(alphabet: str, length: int, seed: str) -> str:
    """Deterministic text from `alphabet`; when the alphabet has them, it holds an upper-case letter,
    a lower-case letter and a digit (what a real random token has)."""
    rng = random.Random(seed)
    while True:
        text = "".join(rng.choice(alphabet) for _ in range(length))
        wanted = [cls for cls in (string.ascii_uppercase, string.ascii_lowercase, string.digits)
                  if set(cls) & set(alphabet)]
        if all(set(text) & set(cls) for cls in wanted):
            return text


ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
BASE64 = ALNUM + "+/"


def pem(label: str, seed: str = "pem") -> str:
    """A private key block in PEM form (with its real line breaks)."""
    body = random_text(BASE64, 64 * 6, seed)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


AWS_SECRETS = [random_text(BASE64, 40, f"aws{i}") for i in range(3)]


def secret_in(text: str) -> str:
    """The secret itself in a sample (an AWS secret key sample also holds its variable's name)."""
    return next((s for s in AWS_SECRETS if s in text), text)


def samples() -> dict[str, list[str]]:
    """Detector id -> credential-shaped values it must block (several shapes where they exist)."""
    return {
        "private_key": [pem(label + "PRIVATE KEY") for label in ("RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", "")]
        + [pem("PGP PRIVATE KEY BLOCK")],
        "aws_access_key_id": ["AK" + "IA" + random_text(string.ascii_uppercase + string.digits, 16, "akia"),
                              "AS" + "IA" + random_text(string.ascii_uppercase + string.digits, 16, "asia")],
        "aws_secret_access_key": [
            "export AWS_SECRET_ACCESS_KEY=" + AWS_SECRETS[0] + "\n",
            'aws_secret_access_key = "' + AWS_SECRETS[1] + '"',
            '{"SecretAccessKey": "' + AWS_SECRETS[2] + '"}',
        ],
        "github_token": ["gh" + "p_" + random_text(ALNUM, 36, "ghp"), "gh" + "s_" + random_text(ALNUM, 36, "ghs"),
                         "git" + "hub_pat_" + random_text(ALNUM + "_", 82, "pat")],
        "gitlab_token": ["gl" + "pat-" + random_text(URLSAFE, 20, "glpat")],
        "slack_token": ["xo" + "xb-" + random_text(string.digits, 12, "s1") + "-" + random_text(string.digits, 13, "s2")
                        + "-" + random_text(ALNUM, 24, "s3")],
        "slack_webhook": ["https://hooks.sl" + "ack.com/services/T" + random_text(string.ascii_uppercase, 8, "w1")
                          + "/B" + random_text(string.ascii_uppercase, 8, "w2") + "/" + random_text(ALNUM, 24, "w3")],
        "stripe_key": ["sk" + "_live_" + random_text(ALNUM, 24, "stripe"), "rk" + "_live_" + random_text(ALNUM, 24, "rk")],
        "openai_key": ["sk" + "-proj-" + random_text(URLSAFE, 80, "proj"), "sk" + "-" + random_text(ALNUM, 48, "legacy")],
        "anthropic_key": ["sk" + "-ant-api03-" + random_text(URLSAFE, 93, "ant") + "AA"],
        "google_api_key": ["AI" + "za" + random_text(URLSAFE, 35, "google")],
        "npm_token": ["np" + "m_" + random_text(ALNUM, 36, "npm")],
        "docker_pat": ["dckr" + "_pat_" + random_text(URLSAFE, 27, "docker")],
        "huggingface_token": ["hf" + "_" + random_text(string.ascii_letters, 34, "hf")],
        "pypi_token": ["pypi" + "-AgEIcHlwaS5vcmc" + random_text(URLSAFE, 70, "pypi")],
        "age_secret_key": ["AGE-SECRET" + "-KEY-1" + random_text("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58, "age")],
        "sendgrid_key": ["SG" + "." + random_text(URLSAFE, 22, "sg1") + "." + random_text(URLSAFE, 43, "sg2")],
        "digitalocean_token": ["dop" + "_v1_" + random_text("0123456789abcdef", 64, "do")],
    }


LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
         "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut "
         "aliquip ex ea commodo consequat. ")


def lorem(size: int) -> str:
    return (LOREM * (size // len(LOREM) + 1))[:size]


def realistic_arguments(size: int = 4096) -> dict[str, Any]:
    """What a file-writing tool gets: a path, a few options and a Markdown document (~size bytes of JSON)."""
    head = {"path": "/home/user/projects/notes/meeting-2024-06-12.md", "mode": "overwrite", "create_dirs": True,
            "encoding": "utf-8", "tags": ["meeting", "planning", "q3"], "metadata": {"author": "sam", "revision": 7}}
    text = ("# Planning meeting\n\n- Attendees: Sam, Ana, Lee\n- Decision: ship the importer on 2024-07-01 "
            "(see https://example.com/roadmap#importer), retry with back-off: 3 attempts.\n\n" + lorem(size))
    overhead = len(json.dumps({**head, "content": ""}))
    return {**head, "content": text[:max(0, size - overhead - text.count("\n"))]}
