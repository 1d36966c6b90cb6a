"""Versioned schema migrations.

An ordered list; each step runs in one transaction together with the bump of
``PRAGMA user_version``. A database newer than this code is refused with a clear error.
The scripts live in :mod:`storage.migrations.v1_to_v6` and :mod:`storage.migrations.since_v7`;
a new one is appended to the latter and to :data:`MIGRATIONS`.
"""

from __future__ import annotations

import hashlib

from storage.migrations.since_v7 import (
    V_AT_REST,
    V_CALENDAR,
    V_CHAT_MIGRATED,
    V_DISCLOSURES,
    V_FILES,
    V_FLOW_STATES,
    V_LEASES,
    V_LIFECYCLE,
    V_LIMITS,
    V_MENUS,
    V_SCRUB,
    V_SEAL,
    V_SHARED_WORK,
)
from storage.migrations.v1_to_v6 import V1, V2, V3, V4, V5, V6
from storage.sql import Conn

MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4, V5, V6, V_CHAT_MIGRATED, V_AT_REST, V_LIFECYCLE,
                                V_LIMITS, V_SEAL, V_SCRUB, V_CALENDAR, V_MENUS,
                                V_FILES, V_FLOW_STATES, V_LEASES, V_SHARED_WORK,
                                V_DISCLOSURES)


def sha256_hex(text: str | None) -> str | None:
    """The SHA-256 of a text's UTF-8 bytes, in hex (how invite codes are kept)."""
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The SQL functions the migrations call, registered on the writer's connection.
FUNCTIONS = {"sunbox_sha256": sha256_hex}


class SchemaTooNew(RuntimeError):
    """The database was written by a newer Sunbox than this one."""


def schema_version(conn: Conn) -> int:
    """The database's ``PRAGMA user_version``."""
    with conn.execute("PRAGMA user_version") as cur:
        row = cur.fetchone()
    return int(row[0]) if row else 0


def migrate(conn: Conn, migrations: tuple[str, ...] = MIGRATIONS) -> int:
    """Apply every pending migration, each in its own transaction; return the new version.
    ``conn`` has the SQL :data:`FUNCTIONS`."""
    current = schema_version(conn)
    if current > len(migrations):
        raise SchemaTooNew(
            f"database schema version {current} is newer than this Sunbox "
            f"(knows up to {len(migrations)}); upgrade Sunbox or use another database"
        )
    for version, script in enumerate(migrations[current:], start=current + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version:d}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return len(migrations)


def _statements(script: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies whole."""
    import sqlite3

    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
