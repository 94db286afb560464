"""State database: enabled flags, exact grants, config, kv, audit, schema version, two writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aleph_gui.core.scope import FileAccess, Scope
from aleph_gui.core.state import SCHEMA_VERSION, Identity, StateDB
from aleph_gui.core.trace import TraceRecord


def test_enabled_flags_persist(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.db")
    assert db.enabled("p") is None
    db.set_enabled("p", False)
    db.close()
    again = StateDB(tmp_path / "state.db")
    assert again.enabled("p") is False
    again.set_enabled("p", True)
    assert again.enabled("p") is True


WHO = Identity("user", "/home/u/.aleph/plugins/p", "wasm", "p.wasm")


def test_grant_stores_the_exact_scope_with_hash_and_time(state_db: StateDB) -> None:
    scope = Scope(allowed_apis=["log", "kv"], file_access=FileAccess(mode="read", paths=["~/notes"]))
    grant = state_db.set_grant("p", scope, identity=WHO, code_digest="c0de")
    stored = state_db.grant("p")
    assert stored is not None and stored.scope == scope and stored.digest == scope.digest() == grant.digest
    assert stored.identity == WHO and stored.code_digest == "c0de" and stored.review_reason == ""
    assert stored.granted_at > 0
    assert state_db.revoke("p") is True and state_db.grant("p") is None
    assert state_db.revoke("p") is False


def test_snapshot_reads_the_same_answers(state_db: StateDB) -> None:
    state_db.set_enabled("a", False)
    state_db.set_grant("b", Scope(shell=True), identity=WHO, code_digest="")
    view = state_db.snapshot()
    assert view.enabled("a") is False and view.enabled("b") is None
    assert view.grant("b").scope.shell is True and view.grant("a") is None


def test_config_kv_forget_and_audit(state_db: StateDB) -> None:
    state_db.set_config("p", "word", {"x": [1, 2]})
    state_db.kv_set("p", "user:/p", "k", b"\x00\x01")
    assert state_db.config("p") == {"word": {"x": [1, 2]}} and state_db.kv_get("p", "user:/p", "k") == b"\x00\x01"
    state_db.forget("p", Identity("user", "/p", "wasm", ""), last_copy=True)
    assert state_db.config("p") == {} and state_db.kv_get("p", "user:/p", "k") is None
    rows = [TraceRecord(float(i), "e", "p", "h", "continue", i * 1000, "", (), "cli") for i in range(10)]
    state_db.append_audit(rows, limit=5)
    assert [r.duration_us for r in state_db.audit()] == [5, 6, 7, 8, 9]  # bounded, oldest dropped
    assert state_db.audit()[-1] == rows[-1]  # the record comes back as it was written


def test_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    StateDB(tmp_path / "state.db").close()
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer version"):
        StateDB(tmp_path / "state.db")


def test_two_processes_can_write_at_once(tmp_path: Path) -> None:
    """The CLI and the GUI may have the database open together."""
    db = StateDB(tmp_path / "state.db")
    script = ("import sys; from pathlib import Path; from aleph_gui.core.state import StateDB\n"
              "db = StateDB(Path(sys.argv[1]))\n"
              "for i in range(200): db.set_enabled(f'child-{i}', True)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "state.db")])
    for i in range(200):
        db.set_enabled(f"parent-{i}", False)
    assert child.wait(timeout=60) == 0
    assert db.enabled("child-199") is True and db.enabled("parent-199") is False
    assert db.integrity_ok()


def test_an_older_database_keeps_every_plugins_data_and_gives_it_to_the_approved_plugin(tmp_path: Path) -> None:
    # A version-2 database, as the previous release wrote it: grants and kv rows keyed by id alone.
    StateDB(tmp_path / "state.db").close()
    scope = Scope(allowed_apis=["log", "kv"])
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.executescript(
        "DROP TABLE kv; CREATE TABLE kv (id TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
        "PRIMARY KEY (id, key));"
        "INSERT INTO kv VALUES ('notes', 'k', x'01'), ('never-approved', 'k', x'02');"
        "DROP TABLE grants; CREATE TABLE grants (id TEXT PRIMARY KEY, scope TEXT NOT NULL, digest TEXT NOT NULL, "
        "granted_at REAL NOT NULL, origin TEXT NOT NULL DEFAULT '', folder TEXT NOT NULL DEFAULT '', "
        "kind TEXT NOT NULL DEFAULT '', entry TEXT NOT NULL DEFAULT '', code_digest TEXT NOT NULL DEFAULT '', "
        "review_reason TEXT NOT NULL DEFAULT '');"
        "PRAGMA user_version = 2;")
    conn.execute("INSERT INTO grants VALUES ('notes', ?, ?, 1.0, ?, ?, ?, ?, 'c0de', '')",
                 (scope.model_dump_json(), scope.digest(), WHO.origin, WHO.folder, WHO.kind, WHO.entry))
    conn.commit()
    conn.close()
    db = StateDB(tmp_path / "state.db")
    kept = db.grant("notes", WHO)
    assert kept is not None and kept.identity == WHO and kept.code_digest == "c0de"
    # an approval given to a WASM plugin also covers running its code (a permission of its own since)
    assert kept.scope == scope.model_copy(update={"wasm_code": True})
    assert db.kv_get("notes", WHO.data_owner, "k") == b"\x01"  # the plugin the grant names has it
    other = Identity("project", "/work/repo/.aleph/plugins/notes", "wasm", "p.wasm")
    assert db.kv_get("notes", other.data_owner, "k") is None  # another plugin with the id does not
    assert db.kv_get("never-approved", "", "k") == b"\x02"  # kept, though no plugin owns it yet
    db.set_grant("never-approved", Scope(allowed_apis=["log", "kv"]), identity=other, code_digest="")
    assert db.kv_get("never-approved", other.data_owner, "k") == b"\x02"  # the first one approved gets it
    assert db.integrity_ok()
