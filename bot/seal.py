"""The seal: what links an anonymous case to a chat is kept encrypted, with a key the
database never holds.

Two things are sealed: the delivery chat of an anonymous case (``cases.delivery_sealed``,
where feedback goes) and, on the reporter's own row, the list of their anonymous cases
(``people.sealed_cases``, what ``/my``, follow-ups and withdrawing look up). Both use
AES-256-GCM with a fresh random nonce, so the same chat sealed twice gives two unrelated
ciphertexts: no equality join links them, and no hash of a chat is stored anywhere. (Fernet
is not used: its tokens carry their creation time in clear, and a list rewritten at each
filing would date the filing.)

The key comes from ``SUNBOX_SEAL_KEY`` (it wins), else from the key file
(``[security] seal_key_file``, by default ``$XDG_CONFIG_HOME/sunbox/seal.key``, i.e.
``~/.config/sunbox/seal.key``: outside the data directory). The file is created on the first
run, mode 0600; never for a PostgreSQL database, whose key must be supplied. The database
keeps the key's fingerprint, and an instance started with another key refuses to start.

Storage stores the sealed bytes as they are; only this module reads them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.i18n import N_

if TYPE_CHECKING:
    from bot.config import Config
    from storage.models import Case

log = logging.getLogger(__name__)

KEY_ENV = "SUNBOX_SEAL_KEY"
KEY_BYTES = 32
_VERSION = b"\x01"
_NONCE = 12
_LIST_BLOCK = 64  # a list's plaintext is padded to a multiple of this: its length hides
#                   how many cases it holds, within a few
_CHAT = b"sunbox:delivery-chat"

MSG_WRONG_KEY = N_(
    "the seal key (fingerprint {found}) is not the one this database was sealed with "
    "({stored}); start with the right {env} or [security] seal_key_file"
)
MSG_KEY_MISSING = N_(
    "the seal key file {path} is missing, and this database was sealed with the key of "
    "fingerprint {stored}; put that key back (or set {env})"
)
MSG_KEY_REQUIRED = N_(
    "a PostgreSQL database needs the seal key to be supplied ({env} or an existing "
    "[security] seal_key_file); it is never created"
)
MSG_KEY_NOT_YET = N_(
    "there is no seal key yet ({path}): it is created by the first start of `sunbox run` "
    "as the service's own user (or set {env})"
)
MSG_KEY_INVALID = N_("the seal key in {source} is not a key: 32 bytes in base64 expected")
MSG_KEY_UNREADABLE = N_("cannot read the seal key file {path}: {error}")


class SealError(Exception):
    """Why an instance cannot use its seal; ``render`` gives one line in a language."""

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(self.render())

    def render(self, t: Callable[[str], str] = lambda s: s) -> str:
        return t(self.message).format(**self.params)


class Unsealable(ValueError):
    """Bytes that this key did not seal (or that were changed)."""


def _fingerprint(key: bytes) -> str:
    return hmac.new(key, b"sunbox seal fingerprint", hashlib.sha256).hexdigest()[:16]


class Sealer:
    """Seals and unseals with one key. Immutable; safe on any thread."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a seal key has 32 bytes")
        self._aead = AESGCM(key)
        self.fingerprint = _fingerprint(key)

    def seal(self, data: bytes, context: bytes) -> bytes:
        """``data`` encrypted under a fresh nonce; ``context`` must be given again to
        unseal (a ciphertext moved to another purpose or row does not open)."""
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, context)

    def unseal(self, token: bytes, context: bytes) -> bytes:
        token = bytes(token)
        if len(token) < 1 + _NONCE + 16 or token[:1] != _VERSION:
            raise Unsealable("not a sealed value")
        try:
            return self._aead.decrypt(token[1:1 + _NONCE], token[1 + _NONCE:], context)
        except InvalidTag as error:
            raise Unsealable("sealed with another key, or changed") from error

    def seal_chat(self, chat_id: int) -> bytes:
        """A delivery chat, sealed (``cases.delivery_sealed``)."""
        return self.seal(str(int(chat_id)).encode(), _CHAT)

    def unseal_chat(self, token: bytes) -> int:
        return int(self.unseal(token, _CHAT))

    def delivery_chat(self, case: Case) -> int | None:
        """Where a case's reporter hears back: the plain chat of a named case, the unsealed
        one of an anonymous case, or None (no replies wanted, or erased)."""
        if case.delivery_chat_id is not None:
            return case.delivery_chat_id
        if case.delivery_sealed is not None:
            return self.unseal_chat(case.delivery_sealed)
        return None

    def seal_ids(self, person_id: int, ids: Iterable[int]) -> bytes:
        """A person's list of anonymous case ids, sealed for that person's row (an empty
        list too: a row re-sealed as a decoy looks like any other)."""
        values = sorted({int(i) for i in ids})
        text = json.dumps(values, separators=(",", ":"))
        text += " " * (-len(text) % _LIST_BLOCK)
        return self.seal(text.encode(), _list_context(person_id))

    def unseal_ids(self, person_id: int, token: bytes | None) -> list[int]:
        if token is None:
            return []
        return [int(i) for i in json.loads(self.unseal(token, _list_context(person_id)))]


    def seal_note(self, person_id: int, case_id: int) -> str:
        """A case id a person's conversation must remember (which case a follow-up goes
        to), sealed as text for ``user_data``: the stored state names no case."""
        token = self.seal(str(int(case_id)).encode(), _note_context(person_id))
        return base64.urlsafe_b64encode(token).decode()

    def unseal_note(self, person_id: int, note: object) -> int | None:
        """The case id of ``seal_note``, or None for anything else."""
        if not isinstance(note, str):
            return None
        try:
            return int(self.unseal(base64.urlsafe_b64decode(note.encode()),
                                   _note_context(person_id)))
        except (Unsealable, binascii.Error, ValueError):
            return None


def _note_context(person_id: int) -> bytes:
    return b"sunbox:note-of-person:%d" % person_id


def _list_context(person_id: int) -> bytes:
    return b"sunbox:cases-of-person:%d" % person_id


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SealError(MSG_KEY_INVALID, source=source)
    return key


def is_postgres(database: str) -> bool:
    return database.startswith(("postgresql://", "postgres://"))


def default_key_path(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CONFIG_HOME/sunbox/seal.key`` (``~/.config/sunbox/seal.key``)."""
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sunbox" / "seal.key"


def key_path(config: Config, env: Mapping[str, str] = os.environ) -> Path:
    """Where the key file is (whether or not the environment's key wins)."""
    configured = config.security.seal_key_file
    return Path(configured) if configured else default_key_path(env)


def load_sealer(config: Config, database: str, stored_fingerprint: str | None,
                env: Mapping[str, str] = os.environ, *, create: bool = True) -> Sealer:
    """The sealer of an instance, or ``SealError`` (one line) if it must not start.

    ``SUNBOX_SEAL_KEY`` wins over the key file. The file is created (mode 0600) only when
    the database has no fingerprint yet, is not PostgreSQL, and ``create`` is set: only
    ``sunbox run`` (and the demo) create it, as the service's own user; an administrator's
    command must not put a key in its own home and pin the database to it.
    """
    text = (env.get(KEY_ENV) or "").strip()
    if text:
        key = _decode_key(text, KEY_ENV)
    else:
        path = key_path(config, env)
        if path.exists():
            key = _read_key(path)
        elif is_postgres(database):
            raise SealError(MSG_KEY_REQUIRED, env=KEY_ENV)
        elif stored_fingerprint is not None:
            raise SealError(MSG_KEY_MISSING, path=str(path), stored=stored_fingerprint,
                            env=KEY_ENV)
        elif not create:
            raise SealError(MSG_KEY_NOT_YET, path=str(path), env=KEY_ENV)
        else:
            key = _create_key(path)
    sealer = Sealer(key)
    if stored_fingerprint is not None and stored_fingerprint != sealer.fingerprint:
        raise SealError(MSG_WRONG_KEY, found=sealer.fingerprint, stored=stored_fingerprint,
                        env=KEY_ENV)
    return sealer


def _read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as error:
        raise SealError(MSG_KEY_UNREADABLE, path=str(path),
                        error=getattr(error, "strerror", None) or str(error)) from error
    if mode & 0o077:
        log.warning("the seal key file %s can be read by others than its owner (mode %o)",
                    path, mode & 0o777)
    return _decode_key(text, str(path))


def _create_key(path: Path) -> bytes:
    """A new key written to ``path`` (mode 0600, folders 0700). Written beside it first
    and linked into place, so a second instance starting at the same moment either makes
    the file or reads the whole of the other's."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = new_key()
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (encode_key(key) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(draft, path)
        except FileExistsError:
            return _read_key(path)
        finally:
            draft.unlink()
    except OSError as error:
        raise SealError(MSG_KEY_UNREADABLE, path=str(path),
                        error=error.strerror or str(error)) from error
    log.info("created the seal key file %s (keep it apart from the database and backups)",
             path)
    return key
