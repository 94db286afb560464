"""What agents see of the plugins: tools with names an MCP client accepts, and skills and commands as prompts.

Tool names. MCP allows `[A-Za-z0-9._-]{1,128}`, but Claude's API takes `[A-Za-z0-9_-]{1,64}` for the whole name
Claude Code builds (`mcp__aleph__<tool>`, 12 characters), so names here use `[A-Za-z0-9_-]` and at most 52
characters. A tool keeps its own name while no other plugin has one like it; when several plugins have it, the
plugin that holds the name in the registry (`aleph-ext show` says "'a' keeps the name") keeps it and every other
one becomes `<plugin-id>__<tool>` — so a tool an agent already knows (and the permission rules written for it)
keeps its name when another plugin arrives with the same one. No tool is ever left out: a name that is still
taken (or too long) gets a short hash of where it comes from.

Prompts. Usable skills and commands of the standalone skill folders and of plugins that are enabled (a
disabled or not yet approved plugin offers none), named like tools (the short name; on a clash the first one
listed keeps it — standalone skills come first — and the others become `<plugin-id>__<name>`).
Arguments come from the front matter: `arguments` (a list of names or of {name, description, required}, or a
mapping name -> description) or Claude Code's `argument-hint` (`<required>` / `[optional]` words). Rendering
fills `$ARGUMENTS` (every value, in order), `$1`…`$9` and `${name}`; a body with none of them gets
"ARGUMENTS: <values>" appended, as Claude Code does for skills.

Pure functions over duck-typed records (ToolSpec, SkillEntry, PluginInfo): no core import.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

MAX_NAME = 52  # 64 (Claude's limit) - len("mcp__aleph__")
SEPARATOR = "__"
PROMPT_KINDS = ("skill", "command")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]+")
_HINT_WORD = re.compile(r"<([^<>]+)>|\[([^\[\]]+)\]")
_POSITIONAL = re.compile(r"\$([1-9])(?![0-9])")
_NAMED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)\}")


def clean_name(text: str) -> str:
    """`text` in MCP's and Claude's charset: other characters become `_` (never empty)."""
    return _NOT_ALLOWED.sub("_", text).strip("_") or "tool"


def _hashed(name: str, origin: str) -> str:
    """`name` cut to fit MAX_NAME with a hash of `origin`, so it stays distinct."""
    return f"{name[:MAX_NAME - 9]}_{hashlib.sha1(origin.encode()).hexdigest()[:8]}"


def _fit(name: str, origin: str) -> str:
    """At most MAX_NAME characters; a shortened name ends with a hash of `origin`."""
    return name if len(name) <= MAX_NAME else _hashed(name, origin)


def unique_names(items: list[tuple[str, str, str]], keeps: Callable[[str, list[str]], str | None]) -> list[str]:
    """Agent-facing names for `items` = (owner, own name, origin): the own name while it is unique; on a clash,
    the owner `keeps(name, owners)` picks keeps it and the others get `<owner>__<name>`."""
    by_name: dict[str, list[str]] = {}
    for owner, name, _ in items:
        by_name.setdefault(clean_name(name), []).append(owner)
    wanted = []
    for owner, name, origin in items:
        short = clean_name(name)
        owners = by_name[short]
        if len(owners) > 1 and keeps(short, owners) != owner:
            short = f"{clean_name(owner)}{SEPARATOR}{short}"
        wanted.append(_fit(short, origin))
    taken: set[str] = set()
    out = []
    for (_, _, origin), name in zip(items, wanted, strict=True):
        if name in taken:  # two names that differ only in characters MCP does not allow, or a prefix collision
            name = _hashed(name, origin)
        taken.add(name)
        out.append(name)
    return out


# -- tools -----------------------------------------------------------------------------------------------


def object_schema(schema: Any) -> dict[str, Any]:
    """An input schema MCP accepts: a JSON object schema (`type: object` at the root)."""
    if not isinstance(schema, dict):
        return {"type": "object"}
    if schema.get("type") == "object":
        return schema
    if "type" not in schema:
        return {**schema, "type": "object"}
    return {"type": "object", "description": f"the plugin declared a non-object schema: {schema!r}"[:500]}


def agent_tools(specs: Iterable[Any], registry_owner: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Every tool as agents see it: {name, plugin, tool, description, input_schema, source}.

    `registry_owner(tool)` names the plugin that holds a tool name in the registry (it keeps the bare name on a
    clash); a name the registry does not know (a plugin's MCP server's tool) goes to the first plugin listed.
    The same tool name twice in one plugin (a declared tool and an MCP server's) is listed once: `call` runs the
    declared one.
    """
    seen: set[tuple[str, str]] = set()
    chosen = []
    for spec in specs:
        if (spec.plugin, spec.name) not in seen:
            seen.add((spec.plugin, spec.name))
            chosen.append(spec)
    raw_names: dict[str, str] = {clean_name(s.name): s.name for s in chosen}

    def keeps(name: str, owners: list[str]) -> str | None:
        owner = registry_owner(raw_names.get(name, name))
        return owner if owner in owners else owners[0]

    names = unique_names([(s.plugin, s.name, f"{s.plugin}/{s.name}") for s in chosen], keeps)
    return [{"name": name, "plugin": s.plugin, "tool": s.name, "description": s.description or "",
             "input_schema": object_schema(s.input_schema), "source": s.source} for name, s in zip(names, chosen,
                                                                                                 strict=True)]


# -- prompts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptArgument:
    name: str
    description: str
    required: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "required": self.required}


def _argument_name(text: str) -> str:
    return _NOT_ALLOWED.sub("_", text.strip()).strip("_").lower() or "arguments"


def prompt_arguments(meta: dict[str, Any]) -> list[PromptArgument]:
    """The arguments a skill's or command's front matter declares (none when it declares none)."""
    declared = meta.get("arguments")
    if isinstance(declared, dict):
        return [PromptArgument(_argument_name(str(k)), str(v or ""), False) for k, v in declared.items()]
    if isinstance(declared, list):
        out = []
        for item in declared:
            if isinstance(item, dict) and item.get("name"):
                out.append(PromptArgument(_argument_name(str(item["name"])), str(item.get("description") or ""),
                                          item.get("required") is True))
            elif isinstance(item, (str, int, float)) and str(item).strip():
                out.append(PromptArgument(_argument_name(str(item)), "", False))
        return out
    if isinstance(declared, str) and declared.strip():
        return [PromptArgument(_argument_name(w), "", False) for w in declared.split()]
    hint = meta.get("argument-hint")
    if not isinstance(hint, str) or not hint.strip():
        return []
    words = _HINT_WORD.findall(hint)
    if not words:  # free text ("the file to explain"): one optional argument described by it
        return [PromptArgument("arguments", hint.strip(), False)]
    out = []
    for required, optional in words:
        text = required or optional
        out.append(PromptArgument(_argument_name(text), text.strip(), bool(required)))
    return out


def prompt_sources(plugins: Iterable[Any]) -> set[str]:
    """Plugin ids whose skills and commands are not offered: the plugin does not run (disabled, waiting for
    review, invalid)."""
    return {p.id for p in plugins if p.state not in ("enabled", "overridden")}


def agent_prompts(entries: Iterable[Any], plugins: Iterable[Any]) -> list[dict[str, Any]]:
    """Skills and commands as prompts: {name, title, description, arguments, skill, kind, source}."""
    hidden = prompt_sources(plugins)
    chosen = [e for e in entries if e.usable and e.kind in PROMPT_KINDS and e.source not in hidden]
    # A standalone skill's source is its folder: prefixing with a path would be noise, so it is named by kind.
    owners = [e.source if ":" in e.name else e.kind for e in chosen]
    names = unique_names([(o, e.short_name, f"{e.kind}/{e.name}") for o, e in zip(owners, chosen, strict=True)],
                         lambda name, found: found[0])
    return [{"name": name, "title": f"{e.name} ({e.kind})", "description": e.description,
             "arguments": [a.to_json() for a in prompt_arguments(e.meta)], "skill": e.name, "kind": e.kind,
             "source": e.source} for name, e in zip(names, chosen, strict=True)]


def render_prompt(body: str, declared: list[dict[str, Any]], values: dict[str, str]) -> str:
    """The body with the given argument values filled in (see the module doc)."""
    order = [a["name"] for a in declared] + [k for k in values if k not in {a["name"] for a in declared}]
    given = [str(values[k]) for k in order if values.get(k) not in (None, "")]
    used = "$ARGUMENTS" in body or any(int(m.group(1)) <= len(order) for m in _POSITIONAL.finditer(body)) \
        or any(m.group(1) in order for m in _NAMED.finditer(body))
    text = body.replace("$ARGUMENTS", " ".join(given))
    positional = [str(values.get(k) or "") for k in order]
    # `$N` past the declared arguments is left alone: "$5" in a prompt is more often five dollars.
    text = _POSITIONAL.sub(lambda m: positional[int(m.group(1)) - 1] if int(m.group(1)) <= len(positional)
                           else m.group(0), text)
    text = _NAMED.sub(lambda m: str(values.get(m.group(1)) or "") if m.group(1) in values or m.group(1) in order
                      else m.group(0), text)
    if given and not used:
        text = text.rstrip("\n") + "\n\nARGUMENTS: " + " ".join(given) + "\n"
    return text


def missing_arguments(declared: list[dict[str, Any]], values: dict[str, str]) -> list[str]:
    return [a["name"] for a in declared if a.get("required") and not values.get(a["name"])]
