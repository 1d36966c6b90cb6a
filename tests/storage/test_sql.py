"""``storage.sql``: the one module that knows the driver. ``Conn`` offers exactly what the
repository functions use, and a ``Dialect`` rewrites the SQL written once in SQLite's words."""

from __future__ import annotations

import ast
from pathlib import Path

from storage.sql import SQLITE, Conn, Cursor, connect

STORAGE = Path(__file__).resolve().parents[2] / "storage"


def _used(names: tuple[str, ...]) -> set[str]:
    """Attributes read of a variable with one of ``names`` anywhere in storage/."""
    used: set[str] = set()
    for path in STORAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in names):
                used.add(node.attr)
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                    and node.value.attr in {f"_{n}" for n in names} | {"_reading"}):
                used.add(node.attr)
    return used


def _public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_conn_offers_exactly_what_storage_uses() -> None:
    used = _used(("conn", "raw", "reader"))
    assert _public(Conn) - {"dialect"} == used & _public(Conn)
    assert _public(Conn) <= used | {"dialect"}


def test_a_cursor_offers_exactly_what_storage_uses() -> None:
    assert _public(Cursor) == _used(("cur", "cursor")) & _public(Cursor)
    assert _public(Cursor) == {"fetchone", "fetchall", "rowcount", "lastrowid"}


def test_no_module_of_storage_but_sql_imports_the_driver_for_the_bot() -> None:
    """Other modules may open a database file of their own (a backup, a command beside a
    running bot), never the bot's connections."""
    allowed = {"sql.py", "files.py", "health.py", "snapshot.py", "migrations/__init__.py",
               "sqlite_library.py"}
    for path in STORAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}
        if path.relative_to(STORAGE).as_posix() not in allowed:
            assert not imported & {"sqlite3", "aiosqlite", "psycopg"}, path
        assert "aiosqlite" not in imported, path


def test_sqlite_takes_the_sql_as_written_and_gives_new_ids(tmp_path: Path) -> None:
    assert SQLITE.translate("SELECT ? WHERE x = :y") == "SELECT ? WHERE x = :y"
    conn = connect(str(tmp_path / "t.db"))
    try:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
        first = conn.insert("INSERT INTO t (x) VALUES (?)", ("a",))
        second = conn.insert("INSERT INTO t (x) VALUES (:x)", {"x": "b"})
        assert (first, second) == (1, 2)
        with conn.execute("SELECT id, x FROM t WHERE id = ?", (2,)) as cur:
            row = cur.fetchone()
        assert row is not None and (row["x"], row[0]) == ("b", 2)
        assert not conn.in_transaction
    finally:
        conn.close()
