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
from storage.migrations.postgres_baseline import _KEYS, BASELINE_SCHEMA, bytewise
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
    # 19: the disclosure register (storage.migrations.since_v7.V_DISCLOSURES)
    bytewise(f"""
CREATE TABLE disclosure_obligations (
    id             {_KEYS},
    item_id        TEXT NOT NULL,
    unit_id        TEXT NOT NULL REFERENCES units(id),
    period_key     TEXT NOT NULL,
    title          TEXT,
    due_at         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    disclosure_id  BIGINT,
    met_at         TEXT,
    reminded_at    TEXT,
    breached_at    TEXT,
    escalated_at   TEXT,
    UNIQUE (item_id, unit_id, period_key)
);
CREATE INDEX disclosure_obligations_open ON disclosure_obligations(due_at) WHERE met_at IS NULL;
CREATE TABLE disclosure_matters (
    id             {_KEYS},
    item_id        TEXT NOT NULL,
    unit_id        TEXT NOT NULL REFERENCES units(id),
    kind           TEXT NOT NULL CHECK (kind IN ('staged', 'temporary')),
    title          TEXT NOT NULL,
    opened_by      BIGINT REFERENCES people(id),
    opened_at      TEXT NOT NULL
);
CREATE TABLE disclosures (
    id             {_KEYS},
    number         TEXT UNIQUE,
    item_id        TEXT NOT NULL,
    unit_id        TEXT NOT NULL REFERENCES units(id),
    obligation_id  BIGINT REFERENCES disclosure_obligations(id),
    audience       TEXT NOT NULL CHECK (audience IN ('party', 'public')),
    aspect         TEXT NOT NULL,
    forms          TEXT NOT NULL,
    stage          TEXT NOT NULL,
    pre            BIGINT NOT NULL DEFAULT 0,
    version        BIGINT NOT NULL DEFAULT 1,
    previous_id    BIGINT REFERENCES disclosures(id),
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,
    sections       TEXT NOT NULL DEFAULT '{{}}',
    drafted_by     BIGINT REFERENCES people(id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    published_at   TEXT,
    content_hash   TEXT,
    comment_until  TEXT,
    CHECK ((number IS NULL) = (published_at IS NULL))
);
CREATE INDEX disclosures_unit ON disclosures(unit_id, published_at);
CREATE INDEX disclosures_published ON disclosures(published_at, id)
    WHERE number IS NOT NULL;
CREATE INDEX disclosures_previous ON disclosures(previous_id);
CREATE FUNCTION sunbox_disclosure_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target BIGINT;
BEGIN
    IF TG_TABLE_NAME = 'disclosures' THEN
        IF OLD.number IS NULL THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
    ELSE
        IF TG_OP = 'INSERT' THEN target := NEW.disclosure_id;
        ELSE target := OLD.disclosure_id; END IF;
        IF (SELECT number FROM disclosures WHERE id = target) IS NULL THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'a published disclosure is immutable'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER disclosures_published_frozen BEFORE UPDATE OR DELETE ON disclosures
    FOR EACH ROW EXECUTE FUNCTION sunbox_disclosure_frozen();
CREATE TABLE disclosure_files (
    disclosure_id  BIGINT NOT NULL REFERENCES disclosures(id),
    position       BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    file_id        TEXT NOT NULL,
    file_unique_id TEXT,
    file_name      TEXT,
    PRIMARY KEY (disclosure_id, position)
);
CREATE TRIGGER disclosure_files_frozen BEFORE INSERT OR UPDATE OR DELETE ON disclosure_files
    FOR EACH ROW EXECUTE FUNCTION sunbox_disclosure_frozen();
CREATE TABLE disclosure_events (
    id             {_KEYS},
    disclosure_id  BIGINT NOT NULL REFERENCES disclosures(id),
    type           TEXT NOT NULL,
    person_id      BIGINT REFERENCES people(id),
    role           TEXT,
    at             TEXT NOT NULL,
    payload        TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX disclosure_events_of ON disclosure_events(disclosure_id, id);
CREATE TRIGGER disclosure_events_no_update BEFORE UPDATE OR DELETE ON disclosure_events
    FOR EACH ROW EXECUTE FUNCTION sunbox_append_only();
CREATE TRIGGER disclosure_events_no_truncate BEFORE TRUNCATE ON disclosure_events
    FOR EACH STATEMENT EXECUTE FUNCTION sunbox_append_only();
CREATE TABLE disclosure_forms (
    disclosure_id  BIGINT NOT NULL REFERENCES disclosures(id),
    form           TEXT NOT NULL,
    confirmed_at   TEXT,
    confirmed_by   BIGINT REFERENCES people(id),
    detail         TEXT,
    PRIMARY KEY (disclosure_id, form)
);
CREATE TABLE disclosure_posts (
    disclosure_id  BIGINT NOT NULL REFERENCES disclosures(id),
    chat_id        BIGINT NOT NULL,
    message_ids    TEXT,
    error          TEXT,
    opinions_shown BIGINT NOT NULL DEFAULT 0,
    edited_at      TEXT,
    PRIMARY KEY (disclosure_id, chat_id)
);
CREATE TABLE disclosure_opinions (
    case_id        BIGINT PRIMARY KEY REFERENCES cases(id),
    disclosure_id  BIGINT NOT NULL REFERENCES disclosures(id),
    adoption       TEXT CHECK (adoption IN ('adopted', 'partly', 'not_adopted')),
    reason         TEXT,
    marked_by      BIGINT REFERENCES people(id),
    marked_at      TEXT
);
CREATE INDEX disclosure_opinions_of ON disclosure_opinions(disclosure_id);
CREATE TABLE disclosure_grams (
    disclosure_id  BIGINT PRIMARY KEY REFERENCES disclosures(id),
    grams          VARCHAR[] NOT NULL
);
CREATE INDEX disclosure_grams_gin ON disclosure_grams USING GIN (grams);
ALTER TABLE outbox ADD COLUMN bulk BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_interactive ON outbox(id) WHERE status = 'pending' AND bulk = 0;
CREATE INDEX outbox_broadcast ON outbox(id) WHERE status = 'pending' AND bulk = 1;
CREATE TABLE disclosure_counters (
    year           BIGINT PRIMARY KEY,
    last_seq       BIGINT NOT NULL
);
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
