"""Every code sample in README.md and docs/*.md works as written.

- TOML and JSON blocks parse; the ones that are manifests (a `[plugin]` table, Aleph's tables, an
  `"aleph"` key, a Claude manifest, `hooks.json`, `.mcp.json`) are validated by the app's own parsers
  and must come out with no problem at all.
- Markdown blocks with front matter parse as skills; YAML blocks load.
- JavaScript passes `node --check`; Python compiles; the AssemblyScript sample compiles with the
  toolchain `make demo-build` installs.
- Every `aleph-ext ...` line in a shell block is a command line the CLI accepts (placeholders like
  `ID` or `[--json]` are filled in); blocks tagged ```` ```sh run ```` are run for real, in a scratch
  folder with its own home, a copy of plugins_demo/ and `aleph-ext` on PATH.

docs/ARCHITECTURE.md is left out on purpose: it states the engineers' internal contracts in a
shorthand (`m.plugins() -> list[PluginInfo]`, `id = "x"; name = "y"`) that is not meant to run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from aleph_gui.cli import build_parser
from aleph_gui.core.manifest.detect import load_plugin_folder
from aleph_gui.core.skills import parse_skill

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted(p for p in (REPO / "docs").glob("*.md") if p.name != "ARCHITECTURE.md")]
VENV_BIN = Path(sys.executable).parent
AS_TOOLCHAIN = REPO / "plugins_demo" / "wasm-notes" / "node_modules"
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
                   re.M | re.S)


@dataclass(frozen=True)
class Sample:
    doc: Path
    line: int
    lang: str
    tags: tuple[str, ...]
    body: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def samples(doc: Path) -> list[Sample]:
    text = doc.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        info = m.group("info").strip().split()
        lang = info[0].lower() if info else ""
        out.append(Sample(doc, text.count("\n", 0, m.start()) + 1, lang, tuple(info[1:]), m.group("body")))
    return out


ALL = [s for doc in DOCS for s in samples(doc)]


def of(*langs: str) -> list[Sample]:
    return [s for s in ALL if s.lang in langs]


def ids(items: list[Sample]) -> list[str]:
    return [s.where for s in items]


def test_the_docs_have_samples_of_every_kind_this_file_checks() -> None:
    """Guards the extractor: a broken fence regex would make every other test here pass vacuously."""
    langs = {s.lang for s in ALL}
    assert {"toml", "json", "js", "sh", "ts", "markdown"} <= langs, langs
    assert any("run" in s.tags for s in ALL)


# -- manifests ------------------------------------------------------------------------------------

ALEPH_TOML_TABLES = ("plugin", "tools", "hooks", "services", "commands", "capabilities", "permissions")


def entry_placeholders(folder: Path, manifest_text: str) -> None:
    """Entry files a manifest names must exist; the sample is about the manifest, so they may be empty."""
    for entry in re.findall(r'(?:"entry"|"main"|\bentry)\s*[=:]\s*"([^"]+)"', manifest_text):
        path = folder / entry
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def assert_clean(folder: Path, sample: Sample) -> None:
    result = load_plugin_folder(folder)
    problems = [p.sentence() for p in result.problems]
    assert result.manifest is not None and problems == [], f"{sample.where}: {problems}"


@pytest.mark.parametrize("sample", of("toml"), ids=ids(of("toml")))
def test_toml_samples_parse_and_manifests_validate(sample: Sample, tmp_path: Path) -> None:
    doc = tomllib.loads(sample.body)
    if "plugin" not in doc:
        return  # a fragment (e.g. a lone [scope] table): parsing it is the check
    entry_placeholders(tmp_path, sample.body)
    (tmp_path / "aleph.plugin.toml").write_text(sample.body)
    assert_clean(tmp_path, sample)


def json_manifest_file(doc: object) -> str | None:
    """Where a JSON sample would live in a plugin folder, or None when it is not a manifest."""
    if not isinstance(doc, dict):
        return None
    if "aleph" in doc:
        return "package.json"
    if "plugin" in doc:
        return "aleph.plugin.json"
    if "name" in doc and "id" not in doc and ("version" in doc or "hooks" in doc or "author" in doc):
        return ".claude-plugin/plugin.json"  # may hold inline hooks and mcpServers too
    if "mcpServers" in doc:
        return ".mcp.json"
    if "hooks" in doc:
        return "hooks/hooks.json"
    return None


@pytest.mark.parametrize("sample", of("json"), ids=ids(of("json")))
def test_json_samples_parse_and_manifests_validate(sample: Sample, tmp_path: Path) -> None:
    doc = json.loads(sample.body)
    name = json_manifest_file(doc)
    if name is None:
        return
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sample.body)
    entry_placeholders(tmp_path, sample.body)
    assert_clean(tmp_path, sample)


@pytest.mark.parametrize("sample", of("markdown", "md"), ids=ids(of("markdown", "md")))
def test_skill_samples_have_readable_front_matter(sample: Sample, tmp_path: Path) -> None:
    if not sample.body.startswith("---\n"):
        return
    name = yaml.safe_load(sample.body.split("---\n")[1]).get("name", "sample")
    path = tmp_path / "skills" / name / "SKILL.md"
    path.parent.mkdir(parents=True)
    path.write_text(sample.body)
    entry = parse_skill(path)
    assert entry.usable and entry.name == name and entry.description and entry.problems == [], sample.where


def test_yaml_samples_load() -> None:
    for sample in of("yaml", "yml"):
        assert yaml.safe_load(sample.body) is not None, sample.where


# -- code -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", of("js", "javascript", "mjs"), ids=ids(of("js", "javascript", "mjs")))
def test_javascript_samples_pass_node_check(sample: Sample, tmp_path: Path) -> None:
    is_module = re.search(r"^\s*(export|import)\s", sample.body, re.M) is not None
    path = tmp_path / ("sample.mjs" if is_module else "sample.js")
    path.write_text(sample.body)
    done = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{sample.where}: {done.stderr}"


def test_python_samples_compile() -> None:
    for sample in of("python", "py"):
        assert compile(sample.body, sample.where, "exec") is not None


@pytest.mark.parametrize("sample", of("ts", "typescript"), ids=ids(of("ts", "typescript")))
def test_assemblyscript_samples_compile_to_wasm(sample: Sample, tmp_path: Path) -> None:
    assert "@extism/as-pdk" in sample.body, f"{sample.where}: only AssemblyScript samples are expected"
    assert (AS_TOOLCHAIN / ".bin" / "asc").exists(), "run `make demo-build` (installs the AssemblyScript toolchain)"
    (tmp_path / "node_modules").symlink_to(AS_TOOLCHAIN)
    (tmp_path / "assembly").mkdir()
    (tmp_path / "assembly" / "index.ts").write_text(sample.body)
    # The command line the docs give next to the sample, with its `\` continuation joined.
    command = next(s for s in ALL if s.doc == sample.doc and s.lang == "sh" and "asc " in s.body)
    argv = shlex.split(command.body.replace("\\\n", " "))
    argv[0:2] = [str(AS_TOOLCHAIN / ".bin" / "asc")]  # `npx asc` without npm's lookup
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{sample.where}: {done.stderr[-2000:]}"
    assert (tmp_path / "plugin.wasm").read_bytes()[:4] == b"\0asm"


# -- aleph-ext command lines ----------------------------------------------------------------------

PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*$")
SUBCOMMANDS = {"list", "show", "validate", "grant", "revoke", "enable", "disable", "call", "fire", "skills",
               "install", "uninstall", "watch", "mcp", "service", "init", "config", "run", "log", "trust",
               "untrust", "serve", "host", "claude"}
NUMBERS = {"N", "PORT"}  # placeholders that stand for a number
# Command lines of the agent gateways the docs must show (each checked by the parser like every other line).
AGENT_COMMANDS = (("mcp", "serve"), ("serve", "--http"), ("claude", "hook"), ("claude", "install"),
                  ("claude", "uninstall"))


def command_lines(body: str) -> list[tuple[str, list[str]]]:
    """(written line, argv) for each `aleph-ext` invocation, with doc placeholders made concrete."""
    out = []
    for raw in body.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if not line.startswith("aleph-ext"):
            continue
        words = shlex.split(line, comments=True)
        # `aleph-ext grant ID | revoke ID`: two commands; `aleph-ext list --json | jq`: a pipe.
        chunks: list[list[str]] = [[]]
        for word in words:
            if word == "|":
                chunks.append([])
            else:
                chunks[-1].append(word)
        commands = [chunks[0]] + [["aleph-ext", *c] for c in chunks[1:] if c and c[0] in SUBCOMMANDS]
        for words in commands:
            argv = []
            for word in words[1:]:
                word = word.strip("[]")
                if not word or word == "...":
                    continue
                if "|" in word and not word.startswith(("{", "'")):
                    word = word.split("|")[0]  # start|stop, wasm|nodejs|static: the first one
                argv.append("{}" if word == "JSON" else "list" if word == "COMMAND" else
                            "5" if word in NUMBERS else "x" if PLACEHOLDER.match(word) else word)
            out.append((line, argv))
    return out


SHELL = of("sh", "bash", "console", "shell")
CLI_LINES = [(s, line, argv) for s in SHELL for line, argv in command_lines(s.body)]


def test_the_docs_show_aleph_ext_command_lines() -> None:
    assert len(CLI_LINES) >= 30, len(CLI_LINES)
    used = {argv[0] for _, _, argv in CLI_LINES if argv and argv[0] in SUBCOMMANDS} | \
        {a for _, _, argv in CLI_LINES for a in argv if a in SUBCOMMANDS}
    assert used == SUBCOMMANDS, f"commands no doc shows: {SUBCOMMANDS - used}"


def test_the_docs_show_how_agents_connect() -> None:
    shown = {tuple(argv[:2]) for _, _, argv in CLI_LINES}
    assert set(AGENT_COMMANDS) <= shown, f"agent commands no doc shows: {set(AGENT_COMMANDS) - shown}"


@pytest.mark.parametrize(("sample", "line", "argv"), CLI_LINES,
                         ids=[f"{s.where}:{line[:60]}" for s, line, _ in CLI_LINES])
def test_every_aleph_ext_line_is_accepted_by_the_cli(sample: Sample, line: str, argv: list[str],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    try:
        parsed = build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{sample.where}: `{line}` is not a valid command line ({capsys.readouterr().err.strip()})"
                    if exc.code else f"{sample.where}: `{line}` only prints help")
    assert parsed.command == argv[0] or argv[0].startswith("-")


RUN_DOCS = sorted({s.doc for s in SHELL if "run" in s.tags})


@pytest.mark.parametrize("doc", RUN_DOCS, ids=[str(d.relative_to(REPO)) for d in RUN_DOCS])
def test_runnable_shell_samples_succeed(doc: Path, tmp_path: Path) -> None:
    """The doc's `sh run` blocks, in order, as one user session in a scratch folder."""
    work = tmp_path / "work"
    shutil.copytree(REPO / "plugins_demo", work / "plugins_demo", symlinks=True,
                    ignore=shutil.ignore_patterns("node_modules"))
    env = {**os.environ, "HOME": str(tmp_path / "user"), "ALEPH_HOME": str(tmp_path / "user" / ".aleph"),
           "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "QT_QPA_PLATFORM": "offscreen"}
    for sample in (s for s in SHELL if s.doc == doc and "run" in s.tags):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", sample.body], cwd=work, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{sample.where} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, f"{sample.where}:\n{done.stderr[-2000:]}"
