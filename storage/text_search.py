"""Sunbox's Chinese text search: character bigrams in an index, confirmed by a substring
check. Built for the disclosure register; cases will reuse it.

Chinese is written without spaces, so words cannot be told apart without a dictionary.
Instead every published text is cut into its overlapping pairs of characters (bigrams):
``低保户名单`` gives ``低保 保户 户名 名单``. A query is cut the same way, and a record is a
candidate when its index holds every bigram of the query: a superset of the matches, found
through an index (SQLite: the FTS5 table ``disclosure_grams``, one row per disclosure, its
bigrams as space-separated tokens; PostgreSQL: ``disclosure_grams.grams``, an array under a
GIN index, ``@>``). The candidates are then confirmed here, in Python, by a substring check
against the record's own text normalised the same way, so ``保户名`` matches ``低保户名单``
and does not match ``保户……户名``, whose bigrams occur apart.

Normalising (:func:`normalise`): NFKC (full-width letters and digits become ASCII, ``，``
becomes ``,``) and case folding, so ``Ｐａｒｔｙ`` and ``party`` are the same word. Text is
then split into runs of letters and digits (any script); punctuation and spaces end a run,
and only runs yield bigrams (:func:`bigrams`).

A query's runs are its terms (:func:`terms`): ``低保，公示`` and ``低保 公示`` both ask for
records holding ``低保`` *and* ``公示``, each somewhere in the text. A term of one character
has no bigram: it is only checked, against the candidates the other terms found. A query
whose terms are all one character (``党``) has no index to use, and is checked against the
newest :data:`SCAN_BOUND` records of the filter only (:attr:`SearchPage.partial` says when
older ones were left unread). An empty query (or punctuation alone) lists the filtered
archive.

Only published disclosures (``number`` set) are found, newest first (``published_at``,
then ``id``, descending), by ``offset`` and ``limit``; a page reads on to the record after
it, which says whether there is more. How a page is made:

- No check is needed when every term has two characters (the bigram *is* the substring).
  Otherwise the candidates' texts are read in order, in batches that double (:data:`BATCH`
  to :data:`BATCH_MOST`), and checked until the page and the record after it are
  confirmed. Either way a page is the same whether the records before it were kept or
  dropped, so pages follow each other without gap or repeat.
- The index is asked first for up to :data:`FEW` + 1 disclosures holding the bigrams. At
  most :data:`FEW`: those are all the candidates, read by id and sorted. More (a common
  word): the filter's records are read newest first by the index on ``published_at``
  (``disclosures_published``, or ``disclosures_unit`` within a unit), each batch looked
  up in the search index, so a common word's page is found among the first records read
  rather than by sorting thousands. SQLite's FTS5 is looked up by ranges of rowids (a
  lookup per id costs tens of microseconds there); PostgreSQL's table by its keys. Asking
  first keeps PostgreSQL's planner out of the choice: it multiplies the frequencies of a
  word's bigrams as if they were independent, and the bigrams of one word are not.
- Reading on from a batch is by keyset (``(published_at, id) <`` the last one read), so a
  batch never sorts what was read before it.

At 100,000 disclosures, p99 of a mix of two- to four-character words is tens of
milliseconds on either engine (``bench/archive_search.py``, ``bench/README_search.md``).

What is indexed is :func:`disclosure_text` of the disclosure (title, body and the texts of
its sections): whoever publishes calls :func:`index_disclosure` with it in the same
transaction; :func:`reindex_all` rebuilds the index from the disclosures (after
``sunbox migrate``, which cannot copy SQLite's FTS5 table).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from storage.models import to_db_time
from storage.sql import Conn, Row

#: The tables of the index, derived from the disclosures (``storage.copy`` rebuilds them
#: instead of copying them).
INDEX_TABLES = ("disclosure_grams",)

#: How many of the newest records of a filter a query without any bigram (all its terms
#: one character long) is checked against; older ones are not found by it
#: (:attr:`SearchPage.partial`). Reading and checking them costs some 20 µs each (the
#: texts read, normalised, searched): a character in none of them takes 40–80 ms at this
#: bound, where 5,000 took up to 190 ms (``bench/archive_search.py``).
SCAN_BOUND = 2000

#: At most this many of a query's bigrams go to the index (spread over the query): a long
#: query's candidates are found as well by a part of its bigrams, and the check confirms.
INDEX_GRAMS = 16

#: A query whose bigrams the index holds for at most this many disclosures reads them by
#: id; more, and the newest of the filter are read in order and probed against the index a
#: batch at a time (:class:`_Index`), until the page is full.
FEW = 1000

#: Records read at once when a page is made batch by batch: the first batch, and the most
#: (each batch twice the one before).
BATCH = 64
BATCH_MOST = 4096

#: Ids further apart than this are looked up in the index by separate ranges.
RANGE_GAP = 2048

_RUN = re.compile(r"[^\W_]+")  # letters and digits of any script (not the underscore)


#: The punctuation of every Chinese text that NFKC changes (full-width forms of ASCII, the
#: ideographic space), each with what NFKC makes of it: replaced first at a small part of
#: NFKC's cost (the result is the same), so most texts are found normalised already.
_WIDE = tuple((wide, unicodedata.normalize("NFKC", wide)) for wide in "，：；（）！？％\u3000")


def normalise(text: str) -> str:
    """``text`` in the form search compares: NFKC, case-folded (NFKC again, as folding can
    undo it)."""
    for wide, narrow in _WIDE:
        text = text.replace(wide, narrow)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text


def terms(text: str) -> list[str]:
    """The runs of letters and digits of ``text``, normalised; each once, in order."""
    return list(dict.fromkeys(_RUN.findall(normalise(text))))


def bigrams(text: str) -> list[str]:
    """Every pair of adjacent characters within a run of letters and digits of ``text``
    (normalised); each once, in the order first met. A run of one character gives none."""
    found: dict[str, None] = {}
    for run in _RUN.findall(normalise(text)):
        for i in range(len(run) - 1):
            found[run[i:i + 2]] = None
    return list(found)


def disclosure_text(title: str, body: str, sections: str | None) -> str:
    """What search reads of a disclosure: its title, body and every text its sections
    hold (``sections`` as stored: JSON; the values, not the keys), a line each."""
    parts = [title, body]
    if sections and sections != "{}":
        try:
            parts.extend(_strings(json.loads(sections)))
        except ValueError:
            parts.append(sections)
    return "\n".join(parts)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


# ----------------------------------------------------------------------------- the index

def index_disclosure(conn: Conn, disclosure_id: int, text: str) -> None:
    """Put a published disclosure's text (:func:`disclosure_text`) in the index, in the
    caller's transaction. Once is enough (published text never changes): a disclosure
    already indexed is left as it is."""
    grams = bigrams(text)
    if conn.dialect.postgres:
        conn.execute("INSERT INTO disclosure_grams (disclosure_id, grams) "
                     "VALUES (?, ?::varchar[]) ON CONFLICT (disclosure_id) DO NOTHING",
                     (disclosure_id, grams))
        return
    if conn.execute_fetchall("SELECT 1 FROM disclosure_grams WHERE rowid = ?",
                             (disclosure_id,)):
        return
    conn.execute("INSERT INTO disclosure_grams (rowid, grams) VALUES (?, ?)",
                 (disclosure_id, " ".join(grams)))


def reindex_all(conn: Conn) -> int:
    """Build the index again from every published disclosure, in the caller's transaction;
    how many were indexed."""
    if conn.dialect.postgres:
        conn.execute("DELETE FROM disclosure_grams")
        insert = ("INSERT INTO disclosure_grams (disclosure_id, grams) "
                  "VALUES (?, ?::varchar[])")
    else:
        conn.execute("INSERT INTO disclosure_grams (disclosure_grams) VALUES ('delete-all')")
        insert = "INSERT INTO disclosure_grams (rowid, grams) VALUES (?, ?)"
    count, after = 0, 0
    while True:
        rows = conn.execute_fetchall(
            "SELECT id, title, body, sections FROM disclosures "
            "WHERE number IS NOT NULL AND id > ? ORDER BY id LIMIT 1000", (after,))
        if not rows:
            return count
        values: list[tuple[int, Any]] = []
        for row in rows:
            grams = bigrams(disclosure_text(row[1], row[2], row[3]))
            values.append((int(row[0]), grams if conn.dialect.postgres else " ".join(grams)))
        conn.executemany(insert, values)
        count += len(rows)
        after = int(rows[-1][0])


# ----------------------------------------------------------------------------- search

@dataclass(frozen=True)
class SearchPage:
    """One page of a search: disclosure ids, newest first."""

    ids: list[int]
    #: Whether a record follows this page.
    has_more: bool
    #: A query without any bigram stopped at the newest :data:`SCAN_BOUND` records of the
    #: filter before this page (with the record after it) was full: older ones may match.
    partial: bool = False


def search_disclosures(
    conn: Conn, *, query: str, audiences: Sequence[str], unit_id: str | None = None,
    aspect: str | None = None, published_from: str | datetime | None = None,
    published_to: str | datetime | None = None, limit: int = 20, offset: int = 0,
) -> SearchPage:
    """Published disclosures holding every term of ``query``, of these ``audiences``
    (``party``, ``public``), of ``unit_id`` and ``aspect`` when given, published in
    ``[published_from, published_to)`` (ISO text in UTC as stored, or aware datetimes), newest
    first: the page ``offset .. offset + limit`` (see the module's docstring)."""
    if limit < 1 or offset < 0:
        raise ValueError("limit must be positive and offset not negative")
    if not audiences:
        return SearchPage([], False)
    where, params = _filter(audiences, unit_id, aspect, published_from, published_to)
    wanted = terms(query)
    if not wanted:
        return _listed(conn, where, params, limit, offset)
    grams = list(dict.fromkeys(g for term in wanted for g in bigrams(term)))
    if not grams:  # one character each: the newest records only
        walk = _Walk(conn, where, params, texts=True, bound=SCAN_BOUND)
        return _checked(conn, walk, wanted, limit, offset)
    chosen = _spread(grams, INDEX_GRAMS)
    checked = len(chosen) < len(grams) or any(len(term) != 2 for term in wanted)
    index = _Index(conn, chosen)
    few = index.first(FEW + 1)
    if len(few) > FEW:  # common: the newest of the filter, probed a batch at a time
        held = index.probed(_Walk(conn, where, params, texts=False))
        if checked:
            return _checked(conn, held, wanted, limit, offset)
        return _cut((record[0] for batch in held for record in batch), limit, offset)
    where = f"d.id IN (SELECT value FROM json_each(?)) AND {where}"
    params = [json.dumps(few), *params]
    if not checked:  # each bigram is a term: the page is cut by the database
        return _listed(conn, where, params, limit, offset)
    return _checked(conn, _Walk(conn, where, params, texts=True), wanted, limit, offset)


_ORDER = "ORDER BY d.published_at DESC, d.id DESC"


def _filter(audiences: Sequence[str], unit_id: str | None, aspect: str | None,
            published_from: str | datetime | None, published_to: str | datetime | None,
            ) -> tuple[str, list[Any]]:
    """The WHERE clause (over ``d``, the disclosures) of the filter, and its parameters."""
    where = ["d.number IS NOT NULL", f"d.audience IN ({', '.join('?' * len(audiences))})"]
    params: list[Any] = list(audiences)
    if unit_id is not None:
        where.append("d.unit_id = ?")
        params.append(unit_id)
    if aspect is not None:
        where.append("d.aspect = ?")
        params.append(aspect)
    if published_from is not None:
        where.append("d.published_at >= ?")
        params.append(_moment(published_from))
    if published_to is not None:
        where.append("d.published_at < ?")
        params.append(_moment(published_to))
    return " AND ".join(where), params


def _moment(value: str | datetime) -> str:
    return to_db_time(value) if isinstance(value, datetime) else value


def _spread(grams: list[str], most: int) -> list[str]:
    """At most ``most`` of the bigrams, spread evenly from the first to the last."""
    if len(grams) <= most:
        return grams
    step = (len(grams) - 1) / (most - 1)
    return list(dict.fromkeys(grams[round(i * step)] for i in range(most)))


def _listed(conn: Conn, where: str, params: list[Any], limit: int, offset: int
            ) -> SearchPage:
    """The page cut by the database (no check needed)."""
    rows = conn.execute_fetchall(
        f"SELECT d.id FROM disclosures d WHERE {where} {_ORDER} LIMIT ? OFFSET ?",
        (*params, limit + 1, offset))
    return _cut([int(row[0]) for row in rows], limit, 0)


def _cut(ids: Iterable[int], limit: int, offset: int) -> SearchPage:
    """The page of ``ids`` (read no further than the one after it)."""
    taken = list(islice(ids, offset, offset + limit + 1))
    return SearchPage(taken[:limit], len(taken) > limit)


#: A batch of records, newest first: (id, title, body, sections), or (id, None, None, None)
#: where the texts are still to be read.
Batch = list[tuple[int, Any, Any, Any]]


class _Walk:
    """The records of a filter, newest first, in batches (each read on from the last
    record of the one before, by the index on ``published_at``); at most ``bound``."""

    def __init__(self, conn: Conn, where: str, params: list[Any], *, texts: bool,
                 bound: int | None = None) -> None:
        self.conn, self.where, self.params = conn, where, params
        self.columns = "d.id, d.published_at" + (", d.title, d.body, d.sections"
                                                 if texts else "")
        self.bound = bound
        #: Stopped at the bound with records left.
        self.cut = False

    def __iter__(self) -> Iterator[Batch]:
        after: tuple[str, int] | None = None
        read, size = 0, BATCH
        while True:
            if self.bound is not None:
                size = min(size, self.bound - read)
                if size <= 0:
                    self.cut = bool(self._read(after, 1))
                    return
            rows = self._read(after, size)
            if rows:
                yield [(int(r[0]), r[2], r[3], r[4]) if len(r) > 2
                       else (int(r[0]), None, None, None) for r in rows]
            if len(rows) < size:
                return
            read, size = read + size, min(size * 2, BATCH_MOST)
            after = (str(rows[-1][1]), int(rows[-1][0]))

    def _read(self, after: tuple[str, int] | None, size: int) -> list[Row]:
        since = "" if after is None else " AND (d.published_at, d.id) < (?, ?)"
        return self.conn.execute_fetchall(
            f"SELECT {self.columns} FROM disclosures d WHERE {self.where}{since} {_ORDER} "
            "LIMIT ?", (*self.params, *(after or ()), size))


class _Index:
    """The index's answers for a query's bigrams (``grams``), in each engine's words."""

    def __init__(self, conn: Conn, grams: list[str]) -> None:
        self.conn = conn
        if conn.dialect.postgres:
            self.grams: Any = grams
        else:  # FTS5: each bigram a phrase, all of them required
            self.grams = " AND ".join(f'"{gram}"' for gram in grams)

    def first(self, count: int) -> list[int]:
        """Up to ``count`` of the disclosures holding the bigrams (which, does not matter:
        fewer than ``count`` are all of them)."""
        sql = ("SELECT disclosure_id FROM disclosure_grams WHERE grams @> ?::varchar[] LIMIT ?"
               if self.conn.dialect.postgres else
               "SELECT rowid FROM disclosure_grams WHERE disclosure_grams MATCH ? LIMIT ?")
        return [int(row[0]) for row in self.conn.execute_fetchall(sql, (self.grams, count))]

    def probed(self, walk: _Walk) -> Iterator[Batch]:
        """The records of ``walk`` that hold the bigrams, a batch at a time."""
        for batch in walk:
            held = self._held(sorted(record[0] for record in batch))
            yield [record for record in batch if record[0] in held]

    def _held(self, ids: list[int]) -> set[int]:
        """Which of these ids (ascending) hold the bigrams. PostgreSQL: by their keys.
        FTS5 reads a range of its lists at once, where a lookup per id costs tens of
        microseconds: a range of rowids for each cluster of nearby ids."""
        if self.conn.dialect.postgres:
            return {int(row[0]) for row in self.conn.execute_fetchall(
                "SELECT disclosure_id FROM disclosure_grams WHERE disclosure_id = ANY(?) "
                "AND grams @> ?::varchar[]", (ids, self.grams))}
        held: set[int] = set()
        start = 0
        for i in range(1, len(ids) + 1):
            if i == len(ids) or ids[i] - ids[i - 1] > RANGE_GAP:
                held.update(int(row[0]) for row in self.conn.execute_fetchall(
                    "SELECT rowid FROM disclosure_grams WHERE disclosure_grams MATCH ? "
                    "AND rowid BETWEEN ? AND ?", (self.grams, ids[start], ids[i - 1])))
                start = i
        return held


def _checked(conn: Conn, batches: Iterable[Batch], wanted: list[str], limit: int,
             offset: int) -> SearchPage:
    """The page of the records that hold every term, checked batch by batch."""
    needed = offset + limit + 1
    found: list[int] = []
    for batch in batches:
        missing = [record[0] for record in batch if record[1] is None]
        if missing:
            texts = {int(row[0]): (int(row[0]), row[1], row[2], row[3])
                     for row in conn.execute_fetchall(
                         "SELECT id, title, body, sections FROM disclosures "
                         "WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(missing),))}
            batch = [texts[record[0]] for record in batch]
        for record in batch:
            text = normalise(disclosure_text(record[1], record[2], record[3]))
            if all(term in text for term in wanted):
                found.append(record[0])
        if len(found) >= needed:
            break
    partial = len(found) < needed and isinstance(batches, _Walk) and batches.cut
    return SearchPage(found[offset:offset + limit], len(found) >= needed, partial)
