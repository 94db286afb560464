"""Skills (`SKILL.md`), slash commands (`commands/*.md`) and agents (`agents/*.md`).

All three are Markdown files with YAML front matter. Parsing is lenient, in the spirit of the
Agent Skills client guide: a skill whose name differs from its folder is a warning; a skill with
no description or with front matter that cannot be read is skipped with a visible problem. Only
the front matter is read when listing; the body is read when asked (progressive disclosure).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aleph_gui.core.problems import Problem, error, warning

log = logging.getLogger(__name__)

KINDS = ("skill", "command", "agent")
MAX_FRONT_MATTER_LINES = 400  # front matter longer than this is not front matter
MAX_SCAN_DEPTH = 4  # nested skill folders (skills/video-sdk/ios/SKILL.md) but no runaway walks
# PyYAML's scanner is quadratic in flow nesting ("{" * 10_000 takes seconds): refuse such headers first.
MAX_FRONT_MATTER_CHARS = 64 * 1024
MAX_FLOW_BRACKETS = 512
_FENCE = "---"


# -- front matter --------------------------------------------------------------------------

@dataclass
class FrontMatter:
    """The YAML header of a Markdown file. `meta` is None when the file has no header."""

    meta: dict[str, Any] | None
    body_offset: int  # character offset of the body in the file text
    problem: str = ""  # why the header could not be read ("" = fine)


def _quote_colon_values(block: str) -> str:
    """Quote `key: value: more` scalar values, the commonest hand-written YAML mistake."""
    fixed = []
    for line in block.splitlines():
        m = re.match(r"^([A-Za-z0-9_-]+):\s+(.*)$", line)
        if m and ": " in m.group(2) and not m.group(2).startswith(("'", '"', "[", "{", "|", ">")):
            value = m.group(2).replace("'", "''")
            line = f"{m.group(1)}: '{value}'"
        fixed.append(line)
    return "\n".join(fixed)


def split_front_matter(text: str) -> FrontMatter:
    """Find and parse the `---` header. Never raises."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != _FENCE:
        return FrontMatter(None, 0)
    for i in range(1, min(len(lines), MAX_FRONT_MATTER_LINES)):
        if lines[i].rstrip() == _FENCE:
            block = "\n".join(lines[1:i])
            offset = sum(len(x) + 1 for x in lines[: i + 1])
            break
    else:
        return FrontMatter(None, 0, "the front matter has no closing '---' line")
    if len(block) > MAX_FRONT_MATTER_CHARS:
        return FrontMatter(None, offset, f"the front matter is longer than {MAX_FRONT_MATTER_CHARS // 1024} KiB")
    if "*" in block and _has_alias(block):
        # `&a [*a]` is a cycle and nested aliases grow exponentially ("billion laughs"); front
        # matter never needs them.
        return FrontMatter(None, offset, "the front matter uses YAML aliases (*name); write the values out")
    if block.count("[") + block.count("{") > MAX_FLOW_BRACKETS:
        return FrontMatter(None, offset, f"the front matter has more than {MAX_FLOW_BRACKETS} '[' or '{{' "
                                         "brackets; write it as plain key: value lines")
    try:
        meta = yaml.safe_load(block)
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        try:
            meta = yaml.safe_load(_quote_colon_values(block))
        except (yaml.YAMLError, RecursionError, ValueError):
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 2})" if mark is not None else ""
            return FrontMatter(None, offset, f"the YAML front matter cannot be read{where}")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return FrontMatter(None, offset, f"the front matter is a {type(meta).__name__}, expected key: value pairs")
    return FrontMatter({str(k): v for k, v in meta.items()}, offset)


def _has_alias(block: str) -> bool:
    try:
        return any(isinstance(token, yaml.AliasToken) for token in yaml.scan(block, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return False  # safe_load reports the syntax error


def read_front_matter(path: Path) -> FrontMatter:
    """Read only the header of a Markdown file (the body stays on disk until asked for)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            first = fh.readline(MAX_FRONT_MATTER_CHARS)  # a huge one-line file is never read whole
            if first.lstrip("\ufeff").rstrip() != _FENCE:
                return FrontMatter(None, 0)
            chunk = [first]
            size = len(first)
            for _ in range(MAX_FRONT_MATTER_LINES):
                line = fh.readline(MAX_FRONT_MATTER_CHARS + 1)
                if not line or size > MAX_FRONT_MATTER_CHARS:
                    break
                chunk.append(line)
                size += len(line)
                if line.rstrip() == _FENCE:
                    break
    except OSError as exc:
        return FrontMatter(None, 0, f"cannot be read: {exc.strerror or exc}")
    if size > MAX_FRONT_MATTER_CHARS:
        return FrontMatter(None, 0, f"the front matter is longer than {MAX_FRONT_MATTER_CHARS // 1024} KiB")
    return split_front_matter("".join(chunk))


def split_tool_list(value: Any) -> list[str]:
    """`allowed-tools` as a list, a comma string or a space string -> list of tool rules.

    Commas/spaces inside parentheses (`Bash(git add:*)`) do not split.
    """
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value)
    sep = "," if "," in text else " "
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == sep and depth <= 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [t.strip() for t in out if t.strip()]


def _first_body_line(path: Path) -> str:
    """A description for a command without one: its first non-heading, non-empty line."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for _, line in zip(range(60), fh, strict=False):
                text = line.strip().lstrip("#").strip()
                if text and text != _FENCE:
                    return text[:200]
    except OSError:
        return ""
    return ""


# -- entries ---------------------------------------------------------------------------------

@dataclass
class SkillEntry:
    """One skill, command or agent. `usable` False = skipped, listed only for its problems."""

    kind: str  # skill | command | agent
    name: str  # namespaced `plugin:name` when it comes from a plugin
    description: str
    source: str  # plugin id, or the skills folder it was found in
    path: Path
    problems: list[Problem] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    usable: bool = True

    @property
    def short_name(self) -> str:
        return self.meta.get("_short_name", self.name)

    def body(self) -> str:
        """The Markdown after the front matter, read now (not when listing)."""
        text = self.path.read_text(encoding="utf-8", errors="replace")
        return text[split_front_matter(text).body_offset:]

    def to_json(self) -> dict[str, Any]:
        meta = {k: v for k, v in self.meta.items() if not k.startswith("_")}
        return {
            "kind": self.kind, "name": self.name, "description": self.description,
            "source": self.source, "path": str(self.path), "usable": self.usable,
            "allowed_tools": split_tool_list(meta.get("allowed-tools", meta.get("tools"))),
            "model": meta.get("model"),
            "metadata": _jsonable(meta),
            "problems": [p.model_dump() for p in self.problems],
        }


def _jsonable(value: Any) -> Any:
    """YAML may hold dates and other non-JSON scalars; show them as text."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _label(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    return str(path)


def _entry(kind: str, path: Path, *, default_name: str, namespace: str | None, source: str,
           base: Path | None, description_required: bool) -> SkillEntry:
    label = _label(path, base)
    fm = read_front_matter(path)
    problems: list[Problem] = []
    if fm.problem:
        problems.append(error(label, "front matter", f"{fm.problem}; this {kind} is skipped"))
        return SkillEntry(kind, _qualify(namespace, default_name), "", source, path, problems, {}, usable=False)
    if fm.meta is None and kind == "skill":
        problems.append(error(label, "front matter",
                              "has no YAML front matter (name, description); this skill is skipped"))
        return SkillEntry(kind, _qualify(namespace, default_name), "", source, path, problems, {}, usable=False)
    meta = fm.meta or {}
    raw_name = meta.get("name")
    name = str(raw_name).strip() if isinstance(raw_name, (str, int, float)) and str(raw_name).strip() else ""
    if not name:
        name = default_name
        if kind != "command":  # commands are named by their file; skills/agents should say
            problems.append(warning(label, "name", f"no 'name' in the front matter; using '{default_name}'"))
    elif kind == "skill" and name != default_name:
        problems.append(warning(label, "name",
                                f"skill name '{name}' differs from its folder name '{default_name}'"))
    desc_raw = meta.get("description")
    description = " ".join(str(desc_raw).split()) if desc_raw not in (None, "") else ""
    usable = True
    if not description:
        if description_required:
            problems.append(error(label, "description", f"no 'description'; this {kind} is skipped"))
            usable = False
        else:
            description = _first_body_line(path)
            if fm.meta is not None:
                problems.append(warning(label, "description", f"no 'description'; this {kind} shows its first line"))
    meta = dict(meta)
    meta["_short_name"] = name
    return SkillEntry(kind, _qualify(namespace, name), description, source, path, problems, meta, usable)


def _qualify(namespace: str | None, name: str) -> str:
    return f"{namespace}:{name}" if namespace else name


def parse_skill(path: Path, *, namespace: str | None = None, source: str = "",
                base: Path | None = None) -> SkillEntry:
    """A `SKILL.md`; its folder name is the default name. `description` is required."""
    return _entry("skill", path, default_name=path.parent.name, namespace=namespace,
                  source=source or str(path.parent.parent), base=base, description_required=True)


def parse_command(path: Path, *, namespace: str | None = None, source: str = "",
                  base: Path | None = None) -> SkillEntry:
    """A `commands/*.md`: named by its file (or `name`), description optional (first line)."""
    return _entry("command", path, default_name=path.stem, namespace=namespace,
                  source=source or str(path.parent), base=base, description_required=False)


def parse_agent(path: Path, *, namespace: str | None = None, source: str = "",
                base: Path | None = None) -> SkillEntry:
    """An `agents/*.md` (`name`, `description`, `tools`, `model`, `color`)."""
    return _entry("agent", path, default_name=path.stem, namespace=namespace,
                  source=source or str(path.parent), base=base, description_required=False)


PARSERS = {"skill": parse_skill, "command": parse_command, "agent": parse_agent}


# -- finding files ---------------------------------------------------------------------------

def _walk(folder: Path, depth: int = 0) -> Iterable[Path]:
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        if child.name.startswith("."):
            continue
        try:  # an unreadable entry (a link into /proc, a permission) is skipped, not fatal
            is_dir, is_file = child.is_dir(), child.is_file()
        except OSError:
            continue
        if is_dir and depth < MAX_SCAN_DEPTH:
            yield from _walk(child, depth + 1)
        elif is_file:
            yield child


def find_files(kind: str, folder: Path) -> list[Path]:
    """Markdown files of one kind under `folder` (a skills/, commands/ or agents/ folder)."""
    if not folder.is_dir():
        if kind != "skill" and folder.is_file() and folder.suffix.lower() == ".md":
            return [folder]  # plugin.json may name a single command/agent file
        return []
    if kind == "skill":
        return [p for p in _walk(folder) if p.name == "SKILL.md"]
    return [p for p in _walk(folder) if p.suffix.lower() == ".md" and p.name.lower() != "readme.md"]


def scan_folder(kind: str, folder: Path, *, namespace: str | None, source: str,
                base: Path | None = None) -> list[SkillEntry]:
    parse = PARSERS[kind]
    return [parse(p, namespace=namespace, source=source, base=base) for p in find_files(kind, folder)]


# -- collecting everything the user has --------------------------------------------------------

def mark_collisions(entries: list[SkillEntry]) -> None:
    """Two usable entries of one kind with one name: the first keeps it, the later gets a problem."""
    owners: dict[tuple[str, str], SkillEntry] = {}
    for e in entries:
        if not e.usable:
            continue
        key = (e.kind, e.name)
        first = owners.setdefault(key, e)
        if first is not e:
            e.problems.append(warning(str(e.path), "name",
                                      f"{e.kind} '{e.name}' is also provided by {first.source}; "
                                      f"{first.source} keeps the name"))


def collect_skills(locations: Any, plugins: Iterable[Any]) -> list[SkillEntry]:
    """Every skill, command and agent: project skills, user skills, then each plugin's.

    `plugins` are discovered plugins (anything with `id`, `path`, `manifest` and optionally
    `origin`/`state`); overridden and invalid ones are left out.
    """
    from aleph_gui.core.manifest.model import ORIGIN_RANK

    out: list[SkillEntry] = []
    for folder in getattr(locations, "skill_dirs", []):
        out.extend(scan_folder("skill", Path(folder), namespace=None, source=str(folder), base=Path(folder)))
    chosen: dict[str, Any] = {}
    for p in sorted(plugins, key=lambda p: ORIGIN_RANK.get(getattr(p, "origin", "user"), 9)):
        if p.manifest is None or getattr(p, "state", "") in ("overridden", "invalid"):
            continue
        chosen.setdefault(p.id, p)
    for plugin in chosen.values():
        root = Path(plugin.path)
        for cap in plugin.manifest.capabilities:
            rel = cap.details.get("path") if cap.type in KINDS else None
            if not rel:
                continue
            path = root / rel
            short = cap.name.split(":", 1)[1] if cap.name.startswith(f"{plugin.id}:") else cap.name
            entry = PARSERS[cap.type](path, namespace=plugin.id, source=plugin.id, base=root)
            if entry.short_name != short and entry.usable:
                entry.meta["_short_name"] = short
                entry.name = f"{plugin.id}:{short}"
            out.append(entry)
        if plugin.manifest.format not in ("claude", "claude-layout"):
            # Aleph-format plugins may ship Claude-style skills/, commands/ and agents/ folders too.
            seen = {e.path for e in out}
            for kind in KINDS:
                found = scan_folder(kind, root / f"{kind}s", namespace=plugin.id, source=plugin.id, base=root)
                out.extend(e for e in found if e.path not in seen)
    mark_collisions(out)
    return out
