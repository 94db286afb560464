"""The shape of `state.db` and how an older file is brought up to it (`PRAGMA user_version`).

Version 1: flags, grants, config, kv, the audit log. Version 2: the calling client of each hook call;
trusted project folders; app settings; the identity a grant was given to (origin, resolved folder,
kind, entry, digest of the approved code). Version 3: grants and key/value data belong to a plugin
(origin and folder), not to an id string; running a WASM plugin's code is a permission of its own, which
an approval of that WASM plugin already gave.
"""

from __future__ import annotations

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plugins (
    id TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    digest TEXT NOT NULL,
    granted_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS config (
    id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (id, key)
);
CREATE TABLE IF NOT EXISTS kv (
    id TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (id, key)
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    event TEXT NOT NULL,
    plugin TEXT NOT NULL,
    handler TEXT NOT NULL,
    decision TEXT NOT NULL,
    duration_us INTEGER NOT NULL,
    error TEXT,
    modified_keys TEXT
);
"""


# Version 2: the calling client of each hook call; trusted project folders; the identity a grant
# was given to (origin, resolved folder, kind, entry, digest of the approved code).
_SCHEMA_V2 = """
ALTER TABLE audit ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
CREATE TABLE IF NOT EXISTS app_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trusted_folders (
    path TEXT PRIMARY KEY,
    trusted_at REAL NOT NULL
);
ALTER TABLE grants ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN folder TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN entry TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN code_digest TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN review_reason TEXT NOT NULL DEFAULT ''
"""

# Version 3: grants and key/value data belong to a plugin (origin and folder), not to an id string:
# approving a project's copy of a plugin leaves the user's copy approved, and neither reads the other's
# data. Key/value rows written before go to the identity their plugin's grant names.
_SCHEMA_V3 = """
CREATE TABLE kv_owned (
    id TEXT NOT NULL,
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (id, owner, key)
);
INSERT INTO kv_owned(id, owner, key, value)
    SELECT kv.id, COALESCE((SELECT CASE WHEN g.origin = 'builtin' THEN 'builtin'
                                        WHEN g.origin != '' THEN g.origin || ':' || g.folder END
                            FROM grants g WHERE g.id = kv.id), ''), kv.key, kv.value FROM kv;
DROP TABLE kv;
ALTER TABLE kv_owned RENAME TO kv;
CREATE TABLE grants_owned (
    id TEXT NOT NULL,
    scope TEXT NOT NULL,
    digest TEXT NOT NULL,
    granted_at REAL NOT NULL,
    origin TEXT NOT NULL DEFAULT '',
    folder TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    entry TEXT NOT NULL DEFAULT '',
    code_digest TEXT NOT NULL DEFAULT '',
    review_reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (id, origin, folder)
);
INSERT INTO grants_owned SELECT id, scope, digest, granted_at, origin, folder, kind, entry, code_digest,
    review_reason FROM grants;
DROP TABLE grants;
ALTER TABLE grants_owned RENAME TO grants;
UPDATE grants SET scope = json_set(scope, '$.wasm_code', json('true')) WHERE kind = 'wasm'
"""


_SCRIPTS = ((1, _SCHEMA), (2, _SCHEMA_V2), (3, _SCHEMA_V3))


def statements_after(version: int) -> list[str]:
    """The SQL statements that bring a database at `version` to SCHEMA_VERSION, in order."""
    return [stmt for target, script in _SCRIPTS if version < target
            for stmt in script.split(";") if stmt.strip()]
