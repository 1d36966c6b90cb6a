"""A person's anonymous cases, found through the sealed list on their own row.

An anonymous case holds nothing that finds its reporter: its delivery chat is sealed
(``bot.seal``), and no index, hash or plain id of the chat exists. What ``/my``, follow-ups,
replies, ratings, withdrawing and erasing need is the other direction, person → cases: the
list of case ids sealed on the person's row (``people.sealed_cases``), changed in the
transaction that files or binds the case.

Every function here takes the caller's connection, so it joins the caller's unit of work (on
the database's thread, ``storage.db``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from bot.seal import Sealer, Unsealable
from storage import conversations, people, sealing
from storage.models import Case, Person
from storage.sql import Conn

#: The keys of ``user_data`` where an open step remembers a case (``SunboxContext.
#: remember_case``): sealed now, a plain id in a database an older Sunbox wrote.
NOTE_KEYS = ("followup_case", "reply_case", "rating_case")


def anonymous_case_ids(
    conn: Conn, sealer: Sealer, person_id: int
) -> list[int]:
    """The ids of a person's anonymous cases (that can hear back), ascending."""
    return sealer.unseal_ids(person_id, people.sealed_cases(conn, person_id))


#: Other people's sealed lists sealed afresh (same content, new nonce) whenever one changes.
DECOYS = 8


def add_case(
    conn: Conn, sealer: Sealer, person_id: int, case_id: int
) -> None:
    """Put an anonymous case on its reporter's sealed list.

    The reporter's row is not the only one to change: the lists of a few other people, picked
    at random, are sealed afresh in the same transaction. Two copies of the database taken
    before and after a filing (two backups, a log before its checkpoint) then show several
    changed rows, not the reporter's alone.
    """
    ids = anonymous_case_ids(conn, sealer, person_id)
    if case_id not in ids:
        people.set_sealed_cases(conn, person_id, sealer.seal_ids(person_id,
                                                                       [*ids, case_id]))
    for other in people.random_others(conn, person_id, DECOYS):
        token = people.sealed_cases(conn, other)
        try:
            listed = sealer.unseal_ids(other, token)
        except Unsealable:
            continue  # not this key's: left as it is
        people.set_sealed_cases(conn, other, sealer.seal_ids(other, listed))


def owns(conn: Conn, sealer: Sealer, case: Case, person: Person) -> bool:
    """Whether ``person`` reported ``case``: by name, or on their sealed list."""
    if case.reporter_person_id is not None:
        return case.reporter_person_id == person.id
    if not case.anonymous or not case.reachable:
        return False
    return case.id in anonymous_case_ids(conn, sealer, person.id)


def erase(conn: Conn, sealer: Sealer, person_id: int) -> list[int]:
    """Erase what links a person to their anonymous cases: each case's sealed delivery chat
    and the person's sealed list. The cases stay, reaching no one. Returns their ids (to
    count; an erasure record must not name them with the person)."""
    ids = anonymous_case_ids(conn, sealer, person_id)
    sealing.forget_deliveries(conn, ids)
    people.set_sealed_cases(conn, person_id, None)
    return ids


def seal_legacy(conn: Conn, sealer: Sealer,
                now: datetime | None = None) -> int:
    """Seal the plain delivery chats an older Sunbox left on anonymous cases, and list each
    case on the sealed list of the person behind that (private) chat; seal the plain case ids
    its open steps remembered in people's data (:func:`seal_notes`). Returns how many
    delivery chats."""
    rows = sealing.plain_anonymous(conn)
    by_chat: dict[int, list[int]] = defaultdict(list)
    for case_id, chat_id in rows:
        sealing.seal_delivery(conn, case_id, sealer.seal_chat(chat_id))
        by_chat[chat_id].append(case_id)
    for chat_id, case_ids in by_chat.items():
        if chat_id <= 0:
            continue  # a group's chat names no person
        person = people.find_person(conn, chat_id)
        if person is None:
            if now is None:
                continue
            person = people.ensure_person(conn, chat_id, now)
        ids = anonymous_case_ids(conn, sealer, person.id)
        people.set_sealed_cases(conn, person.id,
                                sealer.seal_ids(person.id, [*ids, *case_ids]))
    seal_notes(conn, sealer, now)
    return len(rows)


def seal_notes(conn: Conn, sealer: Sealer,
               now: datetime | None = None) -> int:
    """The case ids an older Sunbox's open steps (a follow-up, a reply, a rating comment)
    left in plain in people's stored data are sealed to their person, as
    ``remember_case`` seals them now (the person's row is created if ``now`` is given and
    there is none, else the id is dropped and the step asks again); any other value that
    is not a sealed note is dropped. Returns how many people's data changed."""
    changed = 0
    for user_id, data in (conversations.load_user_data(conn)).items():
        plain = [key for key in NOTE_KEYS if key in data and not isinstance(data[key], str)]
        if not plain:
            continue
        person = people.find_person(conn, user_id)
        if person is None and now is not None:
            person = people.ensure_person(conn, user_id, now)
        for key in plain:
            value = data.pop(key)
            if (person is not None and isinstance(value, int)
                    and not isinstance(value, bool)):
                data[key] = sealer.seal_note(person.id, value)
        conversations.save_user_data(conn, user_id, data)
        changed += 1
    return changed
