"""`hooks.json`, `.mcp.json` and the YAML front matter of SKILL.md / commands / agents, fed hostile input:
each parser answers with capabilities and typed problems, never an exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fuzzkit import Scratch, check_problems, counted, fuzz_settings, huge_text, json_values, odd_text
from hypothesis import given
from hypothesis import strategies as st

from aleph_gui.core.manifest.claude_hooks import parse_hooks_json
from aleph_gui.core.manifest.claude_mcp import parse_mcp_json, server_transport
from aleph_gui.core.manifest.model import Capability
from aleph_gui.core.skills import SkillEntry, parse_agent, parse_command, parse_skill

EVENTS = ["PreToolUse", "PostToolUse", "UserPromptSubmit", "SessionStart", "Stop", "message_received",
          "NotAnEvent", "", "pretooluse"]


@st.composite
def hooks_documents(draw: st.DrawFn) -> Any:
    hook = st.fixed_dictionaries({}, optional={
        "type": st.one_of(st.sampled_from(["command", "prompt", "agent", "http", ""]), json_values),
        "command": st.one_of(odd_text, huge_text, json_values),
        "timeout": st.one_of(st.integers(), st.floats(), st.sampled_from([0, -1, 1e308, float("inf")]), json_values),
        "prompt": odd_text})
    group = st.one_of(st.fixed_dictionaries({}, optional={
        "matcher": st.one_of(st.sampled_from(["", "*", "Bash", "Edit|Write", "(", "[a-"]), json_values),
        "hooks": st.one_of(st.lists(st.one_of(hook, json_values), max_size=3), json_values)}), json_values)
    events = st.dictionaries(st.one_of(st.sampled_from(EVENTS), odd_text),
                             st.one_of(st.lists(group, max_size=3), json_values), max_size=4)
    return draw(st.one_of(st.fixed_dictionaries({"hooks": events}), events, json_values))


@st.composite
def mcp_documents(draw: st.DrawFn) -> Any:
    server = st.fixed_dictionaries({}, optional={
        "type": st.one_of(st.sampled_from(["stdio", "http", "sse", "streamable-http", "ws", ""]), json_values),
        "command": st.one_of(st.sampled_from(["node", "npx", "${CLAUDE_PLUGIN_ROOT}/bin/x", " "]), json_values),
        "args": st.one_of(st.lists(st.one_of(odd_text, st.integers()), max_size=3), json_values),
        "env": st.one_of(st.dictionaries(odd_text, st.one_of(odd_text, st.integers()), max_size=2), json_values),
        "url": st.one_of(st.sampled_from(["https://x.example/mcp", "http://${HOST}/", "::", "http://[::1"]),
                         odd_text, json_values),
        "headers": st.one_of(st.dictionaries(odd_text, odd_text, max_size=2), json_values)})
    servers = st.dictionaries(odd_text, st.one_of(server, json_values), max_size=4)
    return draw(st.one_of(st.fixed_dictionaries({"mcpServers": servers}, optional={"_comment": odd_text}),
                          servers, json_values))


def _check_caps(caps: list[Any], problems: list[Any]) -> None:
    check_problems(problems)
    assert all(isinstance(c, Capability) for c in caps)
    json.dumps([c.model_dump() for c in caps], default=str)


def test_hooks_json_only_gives_typed_problems(fuzz_cases: int) -> None:
    @fuzz_settings(fuzz_cases)
    @given(text=st.one_of(hooks_documents().map(json.dumps), odd_text, st.just("[" * 50_000)))
    @counted("hooks-json")
    def check(text: str) -> None:
        caps, problems = parse_hooks_json(text, "hooks/hooks.json")
        _check_caps(caps, problems)
        for cap in caps:  # every hook it accepted is one the executor can run or show
            assert cap.type == "hook" and cap.event and cap.details.get("hook_type") in ("command", "prompt", "agent")
            assert cap.timeout_ms is None or cap.timeout_ms > 0

    check()


def test_mcp_json_only_gives_typed_problems(fuzz_cases: int) -> None:
    @fuzz_settings(fuzz_cases)
    @given(text=st.one_of(mcp_documents().map(json.dumps), odd_text, st.just('{"mcpServers": ' + "{" * 50_000)))
    @counted("mcp-json")
    def check(text: str) -> None:
        caps, problems = parse_mcp_json(text, ".mcp.json")
        _check_caps(caps, problems)
        for cap in caps:
            assert cap.type == "mcp_server" and server_transport(cap.details) in ("stdio", "http", "sse")

    check()


# -- front matter --------------------------------------------------------------------------------

YAML_FRAGMENTS = ["name: x\n", "description: d\n", "description: a: b: c\n", "tools: [Read, Bash(git:*)]\n",
                  "allowed-tools: Read, Write\n", "model: opus\n", "- item\n", "key: [unclosed\n", "&a x\n",
                  "*a\n", "!!python/object:os.system\n", "? complex\n", "date: 2024-01-01\n", "---\n", "...\n",
                  "  indented: 1\n", "\t\n", "name: 123\n", "description:\n", "{a: 1}\n", "x: !!binary aGk=\n",
                  "a: &x [*x]\n", "%YAML 1.2\n", "b: 0x1F\n", "c: .inf\n", ": \n", "|\n", ">\n"]
# Billion-laughs style alias expansion: safe_load must refuse or stay small.
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n" \
         "description: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"


@st.composite
def markdown_files(draw: st.DrawFn) -> str:
    header = draw(st.one_of(
        st.lists(st.one_of(st.sampled_from(YAML_FRAGMENTS), odd_text.map(lambda t: t + "\n")), max_size=12)
        .map("".join),
        st.dictionaries(st.sampled_from(["name", "description", "tools", "model", "color", "allowed-tools",
                                         "argument-hint"]), json_values, max_size=5).map(json.dumps),
        st.just(LAUGHS), st.just("a: " + "[" * 10_000 + "]" * 10_000 + "\n"), huge_text))
    opening = draw(st.sampled_from(["---\n", "\ufeff---\n", "---\r\n", "--- \n", "", "----\n"]))
    closing = draw(st.sampled_from(["---\n", "---\r\n", "", "---", "...\n"]))
    body = draw(st.one_of(odd_text, st.just("# Title\n\nDo things.\n")))
    return opening + header + ("\n" if header and not header.endswith("\n") else "") + closing + body


def _check_entry(entry: Any, kind: str, path: Path) -> None:
    assert isinstance(entry, SkillEntry) and entry.kind == kind
    check_problems(entry.problems)
    assert isinstance(entry.name, str) and isinstance(entry.description, str)
    if not entry.usable:
        assert any(p.severity == "error" for p in entry.problems), "skipped without saying why"
    json.dumps(entry.to_json(), ensure_ascii=False)  # `aleph-ext skills --json` (no default=str fallback)
    assert isinstance(entry.body(), str)


def test_front_matter_of_skills_commands_and_agents_only_gives_typed_problems(tmp_path: Path,
                                                                              fuzz_cases: int) -> None:
    @fuzz_settings(fuzz_cases)
    @given(kind=st.sampled_from(["skill", "command", "agent"]), text=markdown_files(),
           raw=st.one_of(st.none(), st.binary(max_size=200)))
    @counted("front-matter")
    def check(kind: str, text: str, raw: bytes | None) -> None:
        with Scratch(tmp_path / "cases") as folder:
            path = folder / "my-skill" / "SKILL.md" if kind == "skill" else folder / f"{kind}s" / "x.md"
            path.parent.mkdir(parents=True)
            data = text.encode("utf-8", "surrogatepass") if raw is None else b"---\n" + raw + b"\n---\n"
            path.write_bytes(data)
            parse = {"skill": parse_skill, "command": parse_command, "agent": parse_agent}[kind]
            _check_entry(parse(path, namespace="p", source="p", base=folder), kind, path)

    check()
