"""All persistent state in one SQLite file (`$ALEPH_HOME/state.db`, WAL).

Enabled flags, grants (the exact scope approved, its hash and time, and the plugin identity and code
it was given to: one per identity), trusted project folders, per-plugin config,
per-plugin key/value data for the `kv` host API (owned by the plugin's identity), and the bounded hook
audit log.
The CLI and the GUI may have it open at once: WAL plus a busy timeout serialise writers.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aleph_gui.core.scope import Scope
from aleph_gui.core.state_schema import SCHEMA_VERSION, statements_after
from aleph_gui.core.trace import TraceRecord

AUDIT_LIMIT = 50_000  # rows kept in the hook audit log; the oldest are dropped


@dataclass(frozen=True)
class Identity:
    """Which plugin exactly: where it came from and what runs. A grant belongs to one identity."""

    origin: str  # project | user | builtin ("" = recorded before identities existed)
    folder: str  # the resolved plugin folder
    kind: str
    entry: str  # "" when it has none

    @property
    def data_owner(self) -> str:
        """Whose key/value data this plugin reads and writes: its origin and folder; builtin plugins by
        origin alone (their folder moves when the app is reinstalled)."""
        return "builtin" if self.origin == "builtin" else f"{self.origin}:{self.folder}"


@dataclass(frozen=True)
class Grant:
    plugin_id: str
    scope: Scope
    digest: str  # of the approved scope
    granted_at: float
    identity: Identity = Identity("", "", "", "")
    code_digest: str = ""  # of the plugin's files when approved ("" = not recorded)
    review_reason: str = ""  # set when the approval no longer counts (e.g. the code was replaced)


_GRANT_COLUMNS = "id, scope, digest, granted_at, origin, folder, kind, entry, code_digest, review_reason"


def _grant(row: tuple[Any, ...]) -> Grant:
    pid, scope, digest, at, origin, folder, kind, entry, code, reason = row
    return Grant(pid, Scope.model_validate_json(scope), digest, at, Identity(origin, folder, kind, entry), code, reason)


IdentityOf = Callable[[], Identity]  # asked only when an approval is on record under the id


def _approval_of(rows: list[tuple[Any, ...]], identity: Identity | IdentityOf | None) -> Grant | None:
    """Of the approvals given under one id: this plugin's (same origin and folder), else the newest one —
    which then names the plugin it was given to, so the review can say it is not this one."""
    if not rows:
        return None
    if callable(identity):
        identity = identity()
    if identity is not None:
        for row in rows:
            if (row[4], row[5]) == (identity.origin, identity.folder):
                return _grant(row)
    return _grant(max(rows, key=lambda row: row[3]))


def audit_row(record: tuple[Any, ...]) -> tuple[Any, ...]:
    """A trace record (or a tuple laid out like one) as a row of the audit table."""
    at, event, plugin, handler, decision, ns, error, keys, client = record
    return at, event, plugin, handler, decision, ns // 1000, error or None, json.dumps(list(keys)) if keys else "[]", \
        client


class StateDB:
    """Thread-safe wrapper around one SQLite connection."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False,
                                     isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout = 30000")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock, self._tx():
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} was written by a newer version (schema {version})")
            for stmt in statements_after(version):
                self._conn.execute(stmt)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _tx(self) -> _Transaction:
        return _Transaction(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- enabled flags -------------------------------------------------------------
    def enabled(self, plugin_id: str) -> bool | None:
        """The saved flag, or None when the user never toggled the plugin."""
        with self._lock:
            row = self._conn.execute("SELECT enabled FROM plugins WHERE id=?", (plugin_id,)).fetchone()
        return None if row is None else bool(row[0])

    def set_enabled(self, plugin_id: str, enabled: bool) -> None:
        with self._lock, self._tx():
            self._conn.execute("INSERT INTO plugins(id, enabled) VALUES(?, ?) "
                               "ON CONFLICT(id) DO UPDATE SET enabled=excluded.enabled",
                               (plugin_id, int(enabled)))

    # -- grants ----------------------------------------------------------------------
    def grant(self, plugin_id: str, identity: Identity | IdentityOf | None = None) -> Grant | None:
        """The approval of this plugin (see `_approval_of`)."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_GRANT_COLUMNS} FROM grants WHERE id=?", (plugin_id,)).fetchall()
        return _approval_of(rows, identity)

    def set_grant(self, plugin_id: str, scope: Scope, *, identity: Identity, code_digest: str) -> Grant:
        """Approve exactly `scope` for exactly this plugin (its identity and the code it has now)."""
        grant = Grant(plugin_id, scope, scope.digest(), time.time(), identity, code_digest)
        with self._lock, self._tx():
            self._conn.execute(
                f"INSERT OR REPLACE INTO grants({_GRANT_COLUMNS}) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
                (plugin_id, scope.model_dump_json(), grant.digest, grant.granted_at, identity.origin,
                 identity.folder, identity.kind, identity.entry, code_digest))
            # data kept from before owners were recorded goes to the first plugin approved under this id
            self._conn.execute("UPDATE kv SET owner=? WHERE id=? AND owner=''", (identity.data_owner, plugin_id))
        return grant

    def require_review(self, plugin_id: str, identity: Identity, reason: str) -> None:
        """The approval stays on record but no longer counts until the user reviews again."""
        with self._lock, self._tx():
            self._conn.execute("UPDATE grants SET review_reason=? WHERE id=? AND origin=? AND folder=?",
                               (reason, plugin_id, identity.origin, identity.folder))

    # -- trusted project folders ----------------------------------------------------------
    def trusted(self, folder: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM trusted_folders WHERE path=?", (folder,)).fetchone() is not None

    def set_trusted(self, folder: str, trusted: bool) -> bool:
        """Returns whether anything changed."""
        with self._lock, self._tx():
            if trusted:
                cur = self._conn.execute("INSERT OR IGNORE INTO trusted_folders(path, trusted_at) VALUES(?, ?)",
                                         (folder, time.time()))
            else:
                cur = self._conn.execute("DELETE FROM trusted_folders WHERE path=?", (folder,))
        return cur.rowcount > 0

    def revoke(self, plugin_id: str, identity: Identity | None = None) -> bool:
        """Withdraw the approval of this plugin (and one recorded before identities were), or with no
        identity every approval under the id."""
        with self._lock, self._tx():
            if identity is None:
                cur = self._conn.execute("DELETE FROM grants WHERE id=?", (plugin_id,))
            else:
                cur = self._conn.execute("DELETE FROM grants WHERE id=? AND (origin='' OR (origin=? AND folder=?))",
                                         (plugin_id, identity.origin, identity.folder))
        return cur.rowcount > 0

    def data_version(self) -> int:
        """Changes whenever another connection (e.g. `aleph-ext grant` beside the GUI) commits."""
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def snapshot(self) -> StateSnapshot:
        """Every enabled flag and grant in two queries (listing thousands of plugins)."""
        with self._lock:
            flags = dict(self._conn.execute("SELECT id, enabled FROM plugins").fetchall())
            rows = self._conn.execute(f"SELECT {_GRANT_COLUMNS} FROM grants").fetchall()
            trusted = {p for (p,) in self._conn.execute("SELECT path FROM trusted_folders").fetchall()}
        grants: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            grants.setdefault(row[0], []).append(row)
        return StateSnapshot({k: bool(v) for k, v in flags.items()}, grants, trusted)

    # -- config ----------------------------------------------------------------------
    def config(self, plugin_id: str) -> dict[str, Any]:
        with self._lock:
            rows = self._conn.execute("SELECT key, value FROM config WHERE id=?", (plugin_id,)).fetchall()
        return {k: json.loads(v) for k, v in rows}

    def set_config(self, plugin_id: str, key: str, value: Any) -> None:
        with self._lock, self._tx():
            self._conn.execute("INSERT OR REPLACE INTO config(id, key, value) VALUES(?, ?, ?)",
                               (plugin_id, key, json.dumps(value)))

    def unset_config(self, plugin_id: str, key: str) -> None:
        with self._lock, self._tx():
            self._conn.execute("DELETE FROM config WHERE id=? AND key=?", (plugin_id, key))

    # -- the app's own settings (e.g. the host's HTTP token) ------------------------------
    def setting(self, key: str) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM app_settings WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        with self._lock, self._tx():
            self._conn.execute("INSERT OR REPLACE INTO app_settings(key, value) VALUES(?, ?)", (key, json.dumps(value)))

    # -- per-plugin key/value (host API `kv`) ------------------------------------------
    def kv_get(self, plugin_id: str, owner: str, key: str) -> bytes | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM kv WHERE id=? AND owner=? AND key=?",
                                     (plugin_id, owner, key)).fetchone()
        return None if row is None else bytes(row[0])

    def kv_set(self, plugin_id: str, owner: str, key: str, value: bytes) -> None:
        with self._lock, self._tx():
            self._conn.execute("INSERT OR REPLACE INTO kv(id, owner, key, value) VALUES(?, ?, ?, ?)",
                               (plugin_id, owner, key, value))

    def kv_store(self, plugin_id: str, identity: Identity) -> PluginKv:
        """One plugin's key/value rows, bound: what a runtime gets instead of the database."""
        return PluginKv(self, plugin_id, identity.data_owner)

    # -- forgetting a plugin (uninstall) -------------------------------------------------
    def forget(self, plugin_id: str, identity: Identity, *, last_copy: bool) -> None:
        """Forget an uninstalled plugin's approval and data. Another copy with the same id (a project's, in
        this project or another, or a builtin one) keeps its own; the id's on/off flag and settings go with
        the last copy listed."""
        with self._lock, self._tx():
            self._conn.execute("DELETE FROM grants WHERE id=? AND (origin='' OR (origin=? AND folder=?))",
                               (plugin_id, identity.origin, identity.folder))
            self._conn.execute("DELETE FROM kv WHERE id=? AND owner IN ('', ?)", (plugin_id, identity.data_owner))
            if last_copy:
                for table in ("plugins", "config"):
                    self._conn.execute(f"DELETE FROM {table} WHERE id=?", (plugin_id,))

    # -- hook audit log --------------------------------------------------------------------
    def append_audit(self, records: Iterable[tuple[Any, ...]], limit: int = AUDIT_LIMIT) -> None:
        """Write trace records (`TraceRecord`s, or tuples laid out like one)."""
        self.append_audit_rows([audit_row(r) for r in records], limit)

    def append_audit_rows(self, rows: list[tuple[Any, ...]], limit: int = AUDIT_LIMIT) -> None:
        """Write rows made by `audit_row`: the writer thread does no Python work per row (it shares the
        GIL with the window's thread while that paints)."""
        if not rows:
            return
        with self._lock, self._tx():
            self._conn.executemany(
                "INSERT INTO audit(time, event, plugin, handler, decision, duration_us, error, modified_keys, "
                "client) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._conn.execute("DELETE FROM audit WHERE seq <= (SELECT MAX(seq) FROM audit) - ?", (limit,))

    def audit(self, limit: int = 1000, plugin_id: str | None = None, event: str | None = None,
              since: float | None = None, until: float | None = None) -> list[TraceRecord]:
        """The newest `limit` records matching the filters, oldest first."""
        where, args = [], []
        for clause, value in (("plugin=?", plugin_id), ("event=?", event), ("time>=?", since), ("time<?", until)):
            if value is not None and value != "":
                where.append(clause)
                args.append(value)
        sql = ("SELECT time, event, plugin, handler, decision, duration_us, error, modified_keys, client FROM audit"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC LIMIT ?")
        with self._lock:
            rows = self._conn.execute(sql, (*args, limit)).fetchall()
        return [TraceRecord(t, e, p, h, d, us * 1000, err or "", tuple(json.loads(keys or "[]")), client)
                for t, e, p, h, d, us, err, keys, client in reversed(rows)]

    def integrity_ok(self) -> bool:
        with self._lock:
            return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


class PluginKv:
    """One plugin's own key/value store (`host_api.KvStore`)."""

    __slots__ = ("_db", "_owner", "_plugin_id")

    def __init__(self, db: StateDB, plugin_id: str, owner: str) -> None:
        self._db = db
        self._plugin_id = plugin_id
        self._owner = owner

    def get(self, key: str) -> bytes | None:
        return self._db.kv_get(self._plugin_id, self._owner, key)

    def set(self, key: str, value: bytes) -> None:
        self._db.kv_set(self._plugin_id, self._owner, key, value)


class StateSnapshot:
    """A read-only view of enabled flags and grants, with `StateDB`'s reading methods."""

    def __init__(self, flags: dict[str, bool], grants: dict[str, list[tuple[Any, ...]]], trusted: set[str]) -> None:
        self._flags = flags
        self._grants = grants  # rows stay unparsed until asked for: most plugins never are
        self._trusted = trusted

    def enabled(self, plugin_id: str) -> bool | None:
        return self._flags.get(plugin_id)

    def grant(self, plugin_id: str, identity: Identity | IdentityOf | None = None) -> Grant | None:
        return _approval_of(self._grants.get(plugin_id, []), identity)

    def trusted(self, folder: str) -> bool:
        return folder in self._trusted


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, so a kill -9 leaves either the whole change or none of it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")
