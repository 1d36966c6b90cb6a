"""Random and malformed Bot API updates for the fuzz tests.

Every update is built from a seeded ``random.Random``, so a failing run is repeated by its
seed. The senders are strangers (people the bot has never seen), groups, channels and the
staff of the example county pressing buttons for cases, answers and extensions that do not
exist: nothing a legitimate person could not also send, so no junk may change a stored case.

Which inputs reach the bot: Telegram's Bot API server only ever sends updates that follow
its schema, and python-telegram-bot turns a raw update into an ``Update`` with
``Update.de_json`` before any handler runs. A dictionary that ``Update.de_json`` rejects
(no ``chat``, no ``message_id``, a ``from`` that is not an object ...) could only come from
a broken Bot API server and never reaches a handler: the harness counts it and drops it.
Everything ``Update.de_json`` accepts is handed to the running bot, including values of the
wrong type that PTB passes through unchecked.
"""

from __future__ import annotations

import copy
import random
import string
from collections.abc import Callable
from typing import Any

from telegram import Bot, Update

STRANGER_BASE = 7_000_000
GROUP_BASE = -100_900_000_000
ACTIONS = ("accept", "answer", "transfer", "ask", "extend", "open", "reply", "x", "")
PREFIXES = ("case", "sign", "rate", "ext", "new", "my", "inb", "ck", "rep", "ans", "trf",
            "off", "ratec", "menu", "lang", "adm", "inv", "rpt")
COMMANDS = ("/start", "/new", "/my", "/cancel", "/help", "/inbox", "/language", "/report",
            "/admin", "/clerk", "/start abc", "/start bind_XXXX", "/new@SunboxBot", "/")
SCRIPTS = (string.printable, "阳光信箱村里的低保名单公示举报", "😀🙁✅❓📬\u200b\u202e\ufeff",
           "\x00\x01\x7f\ud7ff\ue000", "٣٤٥١٢𝟗")


class Junk:
    """A source of hostile updates; ``staff`` ids only press buttons for missing objects."""

    def __init__(self, rng: random.Random, staff: tuple[int, ...], known_case_ids: range,
                 strangers: int = 25, *, wrong_types: bool = False) -> None:
        self.rng = rng
        self.wrong_types = wrong_types
        self.staff = staff
        self.known = known_case_ids
        self.strangers = [STRANGER_BASE + i for i in range(strangers)]
        self.message_id = 10_000
        self.kinds: dict[str, int] = {}

    # ------------------------------------------------------------------------ pieces

    def text(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            return rng.choice("x阳😀") * rng.choice((4096, 4097, 10_000, 100_000))
        if roll < 0.25:
            return rng.choice(COMMANDS) + rng.choice(("", " ", " " + self.word(8)))
        if roll < 0.3:
            return ""
        return self.word(rng.randint(1, 300))

    def word(self, n: int) -> str:
        alphabet = self.rng.choice(SCRIPTS)
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def user(self, user_id: int | None = None) -> dict[str, Any]:
        rng = self.rng
        uid = user_id if user_id is not None else rng.choice(self.strangers)
        out: dict[str, Any] = {"id": uid, "is_bot": rng.random() < 0.05,
                               "first_name": self.word(rng.randint(1, 20))}
        lang = rng.choice((None, "zh-hans", "en", "xx", "", "zh-hant-TW", "../../etc"))
        if lang is not None:
            out["language_code"] = lang
        return out

    def chat(self, user: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choices(("private", "group", "supergroup", "channel"), (6, 2, 2, 1))[0]
        if kind == "private":
            return {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        return {"id": GROUP_BASE - rng.randint(0, 50), "type": kind, "title": self.word(10)}

    def case_id(self) -> int:
        """An id that names no stored case (or one far out of range)."""
        rng = self.rng
        return rng.choice((0, self.known.stop + rng.randint(0, 1000), 2**31, 2**53,
                           2**63 - 1, 2**63, 10**30, rng.randint(10**5, 10**9)))

    def callback_data(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            raw = self.word(rng.randint(0, 64))
            return raw.encode()[:64].decode(errors="ignore")
        prefix = rng.choice(PREFIXES)
        parts = [prefix]
        for _ in range(rng.randint(0, 3)):
            parts.append(rng.choice((str(self.case_id()), rng.choice(ACTIONS), self.word(5),
                                     "-1", "00", "ok", "no", "back", "satisfied", "cancel",
                                     "confirm", "done", "anonymous", "f", "all", "page")))
        data = ":".join(parts)
        return data.encode()[:64].decode(errors="ignore")

    def next_message_id(self) -> int:
        self.message_id += 1
        return self.message_id

    def base_message(self, user: dict[str, Any] | None, chat: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"message_id": self.next_message_id(), "date": 1_700_000_000,
                               "chat": chat}
        if user is not None:
            out["from"] = user
        return out

    # ------------------------------------------------------------------------ updates

    def message(self) -> dict[str, Any]:
        user = self.user()
        message = self.base_message(user, self.chat(user))
        content = self.rng.choice(CONTENT)(self)
        message.update(content)
        return {self.rng.choice(("message", "message", "edited_message")): message}

    def channel_post(self) -> dict[str, Any]:
        chat = {"id": GROUP_BASE - 999, "type": "channel", "title": "频道"}
        message = self.base_message(None, chat)
        message["sender_chat"] = chat
        message["text"] = self.text()
        return {self.rng.choice(("channel_post", "edited_channel_post")): message}

    def no_sender(self) -> dict[str, Any]:
        """A message with no ``from`` (anonymous group admin, or simply missing)."""
        user = self.user()
        message = self.base_message(None, self.chat(user))
        message["text"] = self.text()
        return {"message": message}

    def callback(self) -> dict[str, Any]:
        rng = self.rng
        user_id = rng.choice(self.strangers) if rng.random() < 0.7 else rng.choice(self.staff)
        user = self.user(user_id)
        user["is_bot"] = False
        data = self.callback_data()
        if user_id in self.staff:
            # Staff may only press buttons naming things that do not exist.
            data = f"{rng.choice(('case', 'sign', 'ext', 'inb:open', 'my:add'))}:" \
                   f"{self.case_id()}:{rng.choice(ACTIONS + ('ok', 'no', 'back'))}"
        query: dict[str, Any] = {"id": str(rng.randint(1, 10**12)), "from": user,
                                 "chat_instance": str(rng.randint(1, 10**9))}
        shape = rng.random()
        if shape < 0.6:
            query["message"] = self.base_message(
                {"id": 1, "is_bot": True, "first_name": "Sunbox"}, self.chat(user))
            query["message"]["text"] = "📨 " + self.word(20)
        elif shape < 0.8:
            # An inaccessible (too old) message.
            query["message"] = {"chat": self.chat(user), "message_id": rng.randint(1, 10**6),
                                "date": 0}
        else:
            query["inline_message_id"] = self.word(12)
        if rng.random() < 0.95:
            query["data"] = data
        else:
            query["game_short_name"] = "game"
        return {"callback_query": query}

    def membership(self) -> dict[str, Any]:
        rng = self.rng
        user = self.user()
        chat = self.chat(user)
        bot = {"id": 1, "is_bot": True, "first_name": "Sunbox"}

        def member(status: str) -> dict[str, Any]:
            out: dict[str, Any] = {"user": bot if rng.random() < 0.7 else user, "status": status}
            if status == "kicked":
                out["until_date"] = 0
            if status == "restricted":
                out.update({"is_member": True, "until_date": 0, **{k: False for k in (
                    "can_send_messages", "can_send_audios", "can_send_documents",
                    "can_send_photos", "can_send_videos", "can_send_video_notes",
                    "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
                    "can_add_web_page_previews", "can_change_info", "can_invite_users",
                    "can_pin_messages", "can_manage_topics")}})
            return out

        statuses = ("member", "kicked", "left", "restricted")
        body = {"chat": chat, "from": user, "date": 1_700_000_000,
                "old_chat_member": member(rng.choice(statuses)),
                "new_chat_member": member(rng.choice(statuses))}
        return {rng.choice(("my_chat_member", "chat_member")): body}

    def other_update(self) -> dict[str, Any]:
        rng = self.rng
        user = self.user()
        return rng.choice((
            {"inline_query": {"id": "1", "from": user, "query": self.text()[:256], "offset": ""}},
            {"poll_answer": {"poll_id": "p", "user": user, "option_ids": [0]}},
            {"poll": {"id": "p", "question": "?", "options": [], "total_voter_count": 0,
                      "is_closed": False, "is_anonymous": True, "type": "regular",
                      "allows_multiple_answers": False}},
            {"chat_join_request": {"chat": self.chat(user), "from": user, "user_chat_id":
                                   user["id"], "date": 1_700_000_000}},
            {"message_reaction": {"chat": self.chat(user), "message_id": 1, "date": 0,
                                  "user": user, "old_reaction": [],
                                  "new_reaction": [{"type": "emoji", "emoji": "👍"}]}},
            {"unknown_update_kind": {"from": user, "x": [1, 2, 3]}},
            {},
        ))

    def malformed(self) -> dict[str, Any]:
        """Missing fields (and with ``wrong_types`` values of the wrong type): most of these
        PTB refuses to parse; Telegram itself never sends a value of the wrong type."""
        rng = self.rng
        update = self.message()
        message = next(iter(update.values()))
        mutation = rng.randrange(12) if self.wrong_types else rng.choice((0, 1, 2, 9, 11))
        if mutation == 0:
            message.pop("from", None)
        elif mutation == 1:
            message.pop("chat")
        elif mutation == 2:
            message.pop("message_id")
        elif mutation == 3:
            message["text"] = rng.choice((123, 4.5, ["a", "b"], {"x": 1}, None, True))
        elif mutation == 4:
            message["from"] = rng.choice(("abc", 5, [], None))
        elif mutation == 5 and "from" in message:
            # Only hashable ones: PTB itself files every update under its user and chat ids
            # (an unhashable id breaks Application.process_update before any handler).
            message["from"]["id"] = rng.choice(("abc", None, 2**70, -1, 0))
        elif mutation == 6:
            message["chat"]["id"] = rng.choice(("abc", None, 2**70, 0))
        elif mutation == 7:
            message["chat"]["type"] = rng.choice(("secret", "", 5, None))
        elif mutation == 8:
            message["date"] = rng.choice(("yesterday", None, -1, 2**40))
        elif mutation == 9:
            message["entities"] = [{"type": "bot_command", "offset": rng.randint(-5, 50),
                                    "length": rng.randint(-5, 50)}]
            message["text"] = "/" + self.word(5)
        elif mutation == 10:
            update = {"callback_query": {"id": 5, "from": self.user(), "data": [1]}}
        elif self.wrong_types:
            update = {"message": rng.choice((None, 5, "x", []))}
        else:
            update = {"message": {}}
        return update


def _text(junk: Junk) -> dict[str, Any]:
    return {"text": junk.text()}


def _dice(junk: Junk) -> dict[str, Any]:
    return {"dice": {"emoji": "🎲", "value": junk.rng.randint(1, 6)}}


def _poll(junk: Junk) -> dict[str, Any]:
    return {"poll": {"id": "1", "question": junk.word(10), "options": [
        {"text": "a", "voter_count": 0}], "total_voter_count": 0, "is_closed": False,
        "is_anonymous": True, "type": "regular", "allows_multiple_answers": False}}


def _story(junk: Junk) -> dict[str, Any]:
    return {"story": {"chat": {"id": 5, "type": "private"}, "id": 3}}


def _location(junk: Junk) -> dict[str, Any]:
    return {"location": {"latitude": junk.rng.uniform(-90, 90),
                         "longitude": junk.rng.uniform(-180, 180)}}


def _contact(junk: Junk) -> dict[str, Any]:
    return {"contact": {"phone_number": junk.word(12), "first_name": junk.word(4),
                        "user_id": junk.rng.choice((None, 1, 1101, 99))}}


def _photo(junk: Junk) -> dict[str, Any]:
    return {"photo": [{"file_id": junk.word(10), "file_unique_id": "u", "width": 1,
                       "height": 1}], "caption": junk.text()[:1024]}


def _document(junk: Junk) -> dict[str, Any]:
    return {"document": {"file_id": junk.word(10), "file_unique_id": "d",
                         "file_name": "../../" + junk.word(300), "mime_type": junk.word(8),
                         "file_size": junk.rng.choice((0, 2**31, 10**12))}}


def _sticker(junk: Junk) -> dict[str, Any]:
    return {"sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular",
                        "width": 1, "height": 1, "is_animated": False, "is_video": False}}


def _service(junk: Junk) -> dict[str, Any]:
    return junk.rng.choice(({"new_chat_members": [junk.user()]}, {"left_chat_member": junk.user()},
                            {"new_chat_title": "x"}, {"group_chat_created": True},
                            {"pinned_message": {"message_id": 1, "date": 0,
                                                "chat": {"id": 1, "type": "private"}}}))


def _unknown(junk: Junk) -> dict[str, Any]:
    return {"text": junk.text(), "quantum_payload": {"nested": [None, 1, "x"]},
            "paid_media": {"star_count": 1, "paid_media": []}}


def _reply(junk: Junk) -> dict[str, Any]:
    return {"text": junk.text(), "reply_to_message": {
        "message_id": junk.rng.randint(1, 100), "date": 0,
        "chat": {"id": junk.rng.choice(junk.strangers), "type": "private"},
        "from": {"id": 1, "is_bot": True, "first_name": "Sunbox"}, "text": "❓ ..."}}


CONTENT: tuple[Callable[[Junk], dict[str, Any]], ...] = (
    _text, _text, _text, _text, _dice, _poll, _story, _location, _contact, _photo,
    _document, _sticker, _service, _unknown, _reply)


def make_update(junk: Junk) -> dict[str, Any]:
    """One hostile update, by weight."""
    makers = (junk.message, junk.channel_post, junk.no_sender, junk.callback, junk.membership,
              junk.other_update, junk.malformed)
    maker = junk.rng.choices(makers, (30, 4, 4, 30, 6, 6, 12))[0]
    junk.kinds[maker.__name__] = junk.kinds.get(maker.__name__, 0) + 1
    return maker()


def parses(update: dict[str, Any], bot: Bot) -> bool:
    """Would python-telegram-bot turn this into an ``Update`` (so it can reach a handler)?"""
    try:
        Update.de_json({**copy.deepcopy(update), "update_id": 1}, bot)
    except Exception:  # noqa: BLE001 - anything PTB refuses never reaches a handler
        return False
    return True
