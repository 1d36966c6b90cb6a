"""PostgreSQL's schema: a baseline equal to SQLite's schema version :data:`BASELINE`, then
the same later versions as SQLite's, numbered alike (:data:`LATER`, version
``BASELINE + 1`` first).

Values keep SQLite's shapes so that one set of repository functions reads both: times are
ISO text, flags integers 0/1, ids ``bigint`` identities. Text compares byte by byte
(``COLLATE "C"``, SQLite's ``BINARY``), whatever the database's locale. The append-only
rules (case events; their texts, which may only be redacted) are triggers, as on SQLite.

The version is kept in ``sunbox_schema``. Migrations run under an advisory lock, so several
instances starting together migrate once; a database newer than this code is refused.
"""

from __future__ import annotations

from storage.migrations import SchemaTooNew
from storage.migrations.postgres_baseline import BASELINE_SCHEMA, bytewise
from storage.sql import Conn

#: The SQLite schema version the baseline equals.
BASELINE = 16

#: Versions after the baseline, ``BASELINE + 1`` first: each the PostgreSQL twin of the
#: SQLite migration of the same number.
LATER: tuple[str, ...] = (
    # 17: leases held in the database (storage.migrations.since_v7.V_LEASES)
    bytewise("""
CREATE TABLE leases (
    name          TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    until         TEXT NOT NULL
);
"""),
    # 18: several instances share the work (storage.migrations.since_v7.V_SHARED_WORK)
    bytewise("""
ALTER TABLE inbox_updates ADD COLUMN person_key BIGINT;
UPDATE inbox_updates SET person_key = 0 WHERE handled_at IS NULL;
CREATE INDEX inbox_waiting ON inbox_updates(person_key, update_id) WHERE handled_at IS NULL;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
"""),
)

#: Advisory locks of one person's turn (``storage.turns``) are keyed by one bigint: this
#: class, the schema and the person hashed together.
LOCK_PERSON = 5

#: Advisory lock classes (the second key is the schema's name hashed, so two Sunboxes in
#: two schemas of one database never wait for each other).
LOCK_MIGRATE = 1
LOCK_WRITE = 2
LOCK_INSTANCE = 3

#: Take one of Sunbox's advisory locks (``%s``: a class above) for the transaction.
XACT_LOCK = "SELECT pg_advisory_xact_lock({kind:d}, hashtext(current_schema()))"


def latest() -> int:
    return BASELINE + len(LATER)


def schema_version(conn: Conn) -> int:
    """The version recorded in ``sunbox_schema`` (0: an empty database)."""
    with conn.execute("SELECT to_regclass('sunbox_schema') IS NOT NULL") as cur:
        row = cur.fetchone()
    if not row or not row[0]:
        return 0
    with conn.execute("SELECT version FROM sunbox_schema") as cur:
        row = cur.fetchone()
    return int(row[0]) if row else 0


def migrate(conn: Conn) -> int:
    """Bring the database to :func:`latest`, once however many instances start together;
    returns the version. Refuses (``SchemaTooNew``) a database newer than this code."""
    script = conn.script  # type: ignore[attr-defined]  # a PgConn
    script("BEGIN; " + XACT_LOCK.format(kind=LOCK_MIGRATE))
    try:
        current = schema_version(conn)
        if current > latest():
            raise SchemaTooNew(
                f"database schema version {current} is newer than this Sunbox "
                f"(knows up to {latest()}); upgrade Sunbox or use another database")
        if current == 0:
            script(BASELINE_SCHEMA)
            script("CREATE TABLE sunbox_schema (version BIGINT NOT NULL)")
            conn.execute("INSERT INTO sunbox_schema VALUES (?)", (BASELINE,))
            current = BASELINE
        for version, later in enumerate(LATER[current - BASELINE:], start=current + 1):
            script(later)
            conn.execute("UPDATE sunbox_schema SET version = ?", (version,))
        script("COMMIT")
    except BaseException:
        if conn.in_transaction:
            script("ROLLBACK")
        raise
    return latest()
