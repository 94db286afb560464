"""Shared pieces of the fuzz suite: case counting per target, hostile value strategies,
manifest documents generated from the pydantic schema, and the one "only typed problems" check.

Every fuzz test wraps its example body with `@counted("<target>")`; `conftest.py` prints one
`FUZZ <target> cases=<n> failures=<n>` line per target at the end of the run.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from aleph_gui.core.discovery import load_one
from aleph_gui.core.manifest.model import Capability, Limits, ParseResult, PluginManifest
from aleph_gui.core.problems import Problem
from aleph_gui.core.scope import Scope
from aleph_gui.core.slot import PluginSlot
from aleph_gui.core.state import StateDB

SMALL_CASES = 200  # per fuzz test inside `make test`: a few hundred cases per target
DEFAULT_BIG_CASES = 10_000


def big_cases() -> int:
    return int(os.environ.get("FUZZ_CASES", DEFAULT_BIG_CASES))


@dataclass
class Tally:
    """Cases run and failing tests, per target; which targets each pytest item exercised."""

    cases: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    targets_of: dict[str, set[str]] = field(default_factory=dict)
    current_item: str = ""

    def ran(self, target: str) -> None:
        self.cases[target] += 1
        self.targets_of.setdefault(self.current_item, set()).add(target)


# One tally per test process: conftest's hooks and the decorators below share it.
TALLY = Tally()


def counted(target: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Count every example the wrapped hypothesis body runs under `target`."""

    def wrap(body: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> None:
            TALLY.ran(target)
            body(*args, **kwargs)

        return run

    return wrap


def fuzz_settings(cases: int) -> settings:
    """No deadline (the machine is shared and noisy), no example database in the repository."""
    return settings(max_examples=cases, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example])


class Scratch:
    """A fresh folder per example under one pytest tmp_path (hypothesis cannot use tmp_path per example)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Path:
        self.dir = Path(tempfile.mkdtemp(dir=self.base))
        return self.dir

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# -- hostile values ------------------------------------------------------------------------------

ODD_CHARS = ["\u202e", "\u200b", "\ufeff", "\u0301", "\x00", "\x1b[31m", "\r", "\u2028", "\U0001f600",
             "\ud7ff", "\uffff", "\\", "/", "..", "~", ":", "$", "{{", "\"", "'", "\n---\n", "%s", "😀" * 3]

odd_text = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.lists(st.sampled_from(ODD_CHARS), max_size=8).map("".join),
    st.sampled_from(["", " ", "-", "a" * 65, "Ab", "1abc", "my-plugin", "UPPER", "x--y", "../x", "/etc/passwd",
                     "C:\\win", "~/notes", "null", "true", "0", "1e999", "NaN"]),
)
huge_text = st.sampled_from([10_000, 100_000, 400_000]).flatmap(
    lambda n: st.sampled_from(["a", "é", "😀", "\u202e", "{", "\x00"]).map(lambda ch: ch * n))
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), odd_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(odd_text, inner, max_size=5)), max_leaves=25)


def deep_nesting(depth: int, kind: str = "list") -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


# -- values shaped by the pydantic schema --------------------------------------------------------

def _from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A strategy for the JSON Schema pydantic writes for our models (the subset it uses)."""
    if "$ref" in schema:
        return st.deferred(lambda: _from_schema(defs[schema["$ref"].rsplit("/", 1)[1]], defs))
    if "anyOf" in schema:
        return st.one_of([_from_schema(s, defs) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        if not props:
            return st.dictionaries(st.text(max_size=8), json_values, max_size=3)
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: _from_schema(v, defs) for k, v in props.items() if k in required},
            optional={k: _from_schema(v, defs) for k, v in props.items() if k not in required})
    if kind == "array":
        return st.lists(_from_schema(schema.get("items", {}), defs), max_size=4)
    if kind == "string":
        return st.one_of(st.text(max_size=20), odd_text)
    if kind == "integer":
        return st.one_of(st.integers(-5, 100_000), st.integers())
    if kind == "number":
        return st.floats(allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return json_values


@functools.cache  # building pydantic's JSON schema costs more than running a parser
def model_values(model: type) -> st.SearchStrategy[dict[str, Any]]:
    schema = model.model_json_schema()  # type: ignore[attr-defined]
    return _from_schema(schema, schema.get("$defs", {}))


def mutate(value: Any) -> st.SearchStrategy[Any]:
    """The value itself, or the value with one node swapped for a wrong type / huge / odd value."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(value, ())

    def replace(path: tuple[Any, ...], new: Any) -> Any:
        if not path:
            return new
        copy = json.loads(json.dumps(value))
        node = copy
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = new
        return copy

    # An index drawn from a fixed range (not sampled_from(paths)) keeps the amount of drawn data the
    # same whatever the document's shape, which hypothesis' replay needs.
    swap = st.tuples(st.integers(0, 1 << 20), st.one_of(json_values, huge_text, st.just(deep_nesting(60)),
                                                        st.just(deep_nesting(60, "dict"))))
    return st.one_of(st.just(value), swap.map(lambda iv: replace(paths[iv[0] % len(paths)], iv[1])))


def _capability_doc(cap: dict[str, Any]) -> dict[str, Any]:
    """A canonical capability -> how a manifest author writes it (`hook_kind` is spelled `kind`)."""
    doc = dict(cap)
    if "hook_kind" in doc:
        doc["kind"] = doc.pop("hook_kind")
    return doc


@st.composite
def aleph_documents(draw: st.DrawFn) -> dict[str, Any]:
    """An Aleph manifest document (design form), built from the schema, then maybe mutated."""
    manifest = draw(model_values(PluginManifest))
    plugin_keys = ("id", "name", "version", "description", "author", "homepage", "kind", "entry", "activation")
    plugin = {k: manifest[k] for k in plugin_keys if k in manifest}
    if draw(st.booleans()):
        plugin["id"] = draw(st.from_regex(r"\A[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,5}){0,2}\Z"))
    doc: dict[str, Any] = {"plugin": plugin}
    caps = draw(st.lists(model_values(Capability), max_size=4))
    if caps:
        doc["capabilities"] = [_capability_doc(c) for c in caps]
    if draw(st.booleans()):
        doc["scope"] = draw(model_values(Scope))
    if draw(st.booleans()):
        doc["limits"] = draw(model_values(Limits))
    if draw(st.booleans()):
        doc["config"] = draw(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=3))
    if draw(st.booleans()):  # Aleph's real tables, another spelling of the same model
        doc["tools"] = draw(st.lists(st.fixed_dictionaries(
            {"name": st.text(max_size=10)}, optional={"handler": odd_text, "description": odd_text}), max_size=2))
        doc["hooks"] = draw(st.lists(st.fixed_dictionaries(
            {"event": st.sampled_from(["message_received", "PreToolUse", "before_tool_call", "nope"])},
            optional={"priority": st.one_of(st.sampled_from(["high", "normal", "low", "urgent"]), st.integers()),
                      "handler": odd_text, "filter": odd_text}), max_size=2))
        doc["permissions"] = draw(st.fixed_dictionaries({}, optional={
            "shell": scalars, "filesystem": st.one_of(st.sampled_from(["read", "write", "none"]), json_values),
            "network": st.one_of(st.booleans(), st.lists(odd_text, max_size=2), json_values)}))
    return draw(mutate(doc))


# -- the property every parser must keep ------------------------------------------------------------

def check_problems(problems: list[Any]) -> None:
    for problem in problems:
        assert isinstance(problem, Problem), f"not a typed problem: {problem!r}"
        assert problem.severity in ("error", "warning")
        assert isinstance(problem.message, str) and problem.message.strip(), problem
        assert isinstance(problem.sentence(), str)


def check_parse_result(result: Any) -> None:
    """Only typed problems come out; no manifest means at least one error saying why."""
    assert isinstance(result, ParseResult), f"a parser returned {type(result).__name__}"
    check_problems(result.problems)
    if result.manifest is None:
        assert any(p.severity == "error" for p in result.problems), "rejected without an error"
    else:
        assert isinstance(result.manifest, PluginManifest)
    result.model_dump_json()  # `validate --json` / `list --json` can always print it


def check_listing(folder: Path, state: StateDB) -> None:
    """What `aleph-ext list --json` does with the folder: discover, decide a state, print JSON."""
    found = load_one(folder, "user")
    check_problems(found.problems)
    slot = PluginSlot(found, enabled_flag=state.enabled(found.id), grant=state.grant(found.id))
    slot.settle(safe_mode=False)
    info = slot.info()
    if not found.valid:
        assert info.state == "invalid", (info.state, found.problems)
    json.dumps(info.to_json(), ensure_ascii=False, default=str)
