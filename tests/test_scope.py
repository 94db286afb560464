"""Scope: permissions in plain words, risk, review need, grant diffs and enforcement labels."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aleph_gui.core.review import Enforcement, enforcement, permission_rows
from aleph_gui.core.sandbox import SandboxStatus, sandbox_status
from aleph_gui.core.scope import (
    FileAccess,
    NetworkAccess,
    Scope,
    diff_scopes,
    is_covered,
    risk_of,
)


def scope(**kw) -> Scope:
    return Scope(**kw)


def test_log_only_needs_no_review() -> None:
    assert not Scope().needs_review()
    assert not scope(allowed_apis=[]).needs_review()
    assert not scope(network_access=NetworkAccess(mode="allow", hosts=[])).needs_review()
    assert risk_of(Scope()) == "low"


def test_needs_review_matches_the_permission_list() -> None:
    cases = [scope(allowed_apis=["log", "kv"]), scope(shell=True),
             scope(file_access=FileAccess(mode="read")), scope(network_access=NetworkAccess(mode="any")),
             scope(network_access=NetworkAccess(mode="allow", hosts=["a.example"]))]
    for s in cases:
        assert s.needs_review()
        assert s.needs_review() == any(p.key != "api:log" for p in s.permissions())


def test_permissions_in_plain_words_highest_risk_first() -> None:
    s = scope(allowed_apis=["log", "kv"], shell=True, file_access=FileAccess(mode="read", paths=["~/notes"]),
              network_access=NetworkAccess(mode="allow", hosts=["api.example.com"]))
    perms = s.permissions()
    (shell,) = [p for p in perms if p.key == "shell"]
    assert shell.text == "run programs and shell commands" and shell.risk == "medium"
    texts = [p.text for p in perms]
    assert "read files in ~/notes" in texts and "connect to api.example.com" in texts
    assert risk_of(s) == "medium"  # in its sandbox; review.py raises what no sandbox contains to high


def test_diff_shows_only_what_widens() -> None:
    granted = scope(allowed_apis=["log", "kv"], file_access=FileAccess(mode="read", paths=["~/notes"]))
    wider = scope(allowed_apis=["log", "kv"], file_access=FileAccess(mode="read", paths=["~/notes", "~/mail"]),
                  network_access=NetworkAccess(mode="any"))
    diff = diff_scopes(granted, wider)
    # File keys hold the canonical path: ~ expanded, links and .. resolved.
    assert [p.key for p in diff.added] == ["net:*", f"file:read:{os.path.realpath(os.path.expanduser('~/mail'))}"]
    assert not is_covered(granted, wider)
    narrower = scope(file_access=FileAccess(mode="read", paths=["~/notes/work"]))
    assert is_covered(granted, narrower)
    assert diff_scopes(granted, narrower).removed  # kv and the wider folder are no longer asked for


def test_no_grant_covers_only_log() -> None:
    assert is_covered(None, Scope())
    assert not is_covered(None, scope(allowed_apis=["kv"]))
    read_write = scope(file_access=FileAccess(mode="read_write", paths=["/"]))
    assert is_covered(read_write, scope(file_access=FileAccess(mode="read", paths=["/tmp"])))


SANDBOXED = SandboxStatus(True, bwrap="/usr/bin/bwrap", version="0.8.0")
NO_SANDBOX = SandboxStatus(False, "bubblewrap is not installed (apt install bubblewrap)")


def test_enforcement_labels_never_overclaim() -> None:
    assert enforcement("wasm", "net:api.example.com")[0] is Enforcement.ENFORCED
    assert enforcement("static", "file:read:/")[0] is Enforcement.DECLARED_ONLY
    # with an OS sandbox: what it holds, and what no sandbox can be given
    assert enforcement("nodejs", "net:*", SANDBOXED)[1].startswith("sandboxed (bubblewrap): its own network")
    assert enforcement("claude", "shell", SANDBOXED)[0] is Enforcement.ENFORCED
    assert enforcement("nodejs", "file:read:/", SANDBOXED)[0] is Enforcement.REFUSED
    assert enforcement("nodejs", f"file:read:{Path.home()}", SANDBOXED)[0] is Enforcement.REFUSED
    assert enforcement("nodejs", "file:read:/usr/share", SANDBOXED)[0] is Enforcement.ENFORCED
    # the review refuses what the sandbox refuses when the plugin starts, and says why
    how, sentence = enforcement("nodejs", "file:read:/proc/self", SANDBOXED)
    assert how is Enforcement.REFUSED and "inside /proc" in sentence
    # without one: said so, never claimed
    how, sentence = enforcement("nodejs", "net:*", NO_SANDBOX)
    assert how is Enforcement.NOT_ENFORCED and sentence.startswith("not sandboxed on this system (bubblewrap is not")
    assert enforcement("claude", "shell", NO_SANDBOX)[0] is Enforcement.RUNS_AS_YOU
    assert enforcement("nodejs", "process:nodejs", NO_SANDBOX)[0] is Enforcement.RUNS_AS_YOU


def test_what_no_sandbox_contains_counts_as_high_risk(monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = scope(shell=True, node_process=True)
    monkeypatch.setenv("ALEPH_SANDBOX", "off")
    rows = permission_rows("nodejs", wanted, None, preapproved=False)
    assert {r.key: r.permission.risk for r in rows if r.key != "api:log"} == {"shell": "high", "process:nodejs": "high"}
    monkeypatch.delenv("ALEPH_SANDBOX")
    if sandbox_status().available:
        rows = permission_rows("nodejs", wanted, None, preapproved=False)
        assert {r.key: r.permission.risk for r in rows if r.key != "api:log"} == {"shell": "medium",
                                                                                  "process:nodejs": "low"}


def test_digest_is_stable_and_exact() -> None:
    a = scope(allowed_apis=["kv", "log"])
    b = scope(allowed_apis=["log", "kv"])
    assert a.digest() == b.digest() != Scope().digest()
