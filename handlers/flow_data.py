"""Drafts kept in user data as JSON, read and written as dataclasses.

A flow's draft (a resident's case, a clerk's intake, an official's action, a meeting being
recorded) is a dataclass deriving from :class:`Stored`. User data, which
``bot.telegram.persistence`` keeps as JSON, holds only its :meth:`Stored.to_json` form (plain dicts,
lists, strings and numbers), so everything that reads user data as stored (the draft expiry
in ``handlers.drafts``, ``storage.lifecycle``, the sealing of case ids) sees what it always
saw. :class:`Slot` names where a draft lives and reads it back with :meth:`Stored.from_json`,
which takes what an older Sunbox stored: keys it does not know are ignored, a missing key
takes its default, a value of the wrong type is dropped for the default (an item of a list
is left out), and :attr:`Stored.RENAMED` maps a key's old name to its field.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar

from handlers.context import SunboxContext
from storage.models import NewAttachment


class Mismatch(ValueError):
    """A stored value that does not fit its field."""


class Stored:
    """A dataclass stored as JSON. Every field of a draft has a default; a field that is None
    is left out of the JSON."""

    #: Old key → field, for keys stored under another name by an older Sunbox.
    RENAMED: ClassVar[Mapping[str, str]] = {}

    def to_json(self) -> dict[str, Any]:
        """The JSON form (what user data holds)."""
        assert dataclasses.is_dataclass(self)
        return {f.name: _dump(value) for f in dataclasses.fields(self)
                if (value := getattr(self, f.name)) is not None}

    def need(self, name: str) -> Any:
        """A field that must be set by now; ``KeyError`` naming it if it is not (the draft is
        incomplete)."""
        value = getattr(self, name)
        if value is None:
            raise KeyError(name)
        return value

    @classmethod
    def upgrade(cls, data: object) -> object:
        """The stored form as this version reads it (a subclass may accept older shapes);
        here: renamed keys under their fields' names."""
        if not isinstance(data, Mapping) or not cls.RENAMED:
            return data
        return {cls.RENAMED.get(key, key): value for key, value in data.items()}

    @classmethod
    def from_json(cls, data: object) -> Self:
        """Read back what :meth:`to_json` (of this or an older version) stored; anything that
        is not a JSON object reads as a fresh draft. :class:`Mismatch` if a field without a
        default is missing or unreadable."""
        data = cls.upgrade(data)
        if not isinstance(data, Mapping):
            data = {}
        kind: type = cls
        hints = _hints(kind)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                try:
                    values[f.name] = _load(hints[f.name], data[f.name])
                except Mismatch:
                    continue
        try:
            return cls(**values)
        except TypeError as error:  # a field without a default is missing
            raise Mismatch(str(error)) from None


S = TypeVar("S", bound=Stored)


class Slot(Generic[S]):
    """Where one kind of draft lives in a person's user data (``user_data[key]``)."""

    def __init__(self, key: str, kind: type[S]) -> None:
        self.key = key
        self.kind = kind

    def __repr__(self) -> str:
        return f"Slot({self.key!r}, {self.kind.__name__})"

    @staticmethod
    def _data(context: SunboxContext) -> dict[str, Any]:
        assert context.user_data is not None
        return context.user_data

    def held(self, context: SunboxContext) -> bool:
        """Whether a draft is there."""
        return self.key in self._data(context)

    def get(self, context: SunboxContext) -> S:
        """The draft (a fresh one, not stored, when there is none)."""
        return self.kind.from_json(self._data(context).get(self.key))

    def need(self, context: SunboxContext) -> S:
        """The draft a step goes on with; ``KeyError`` when there is none."""
        return self.kind.from_json(self._data(context)[self.key])

    def put(self, context: SunboxContext, draft: S) -> None:
        """Keep ``draft`` (replacing what was there)."""
        self._data(context)[self.key] = draft.to_json()

    @contextmanager
    def edit(self, context: SunboxContext, *, need: bool = False) -> Iterator[S]:
        """The draft to change (``need``: it must be there, :meth:`need`), kept as changed
        when the block ends without an error."""
        draft = self.need(context) if need else self.get(context)
        yield draft
        self.put(context, draft)

    def take(self, context: SunboxContext) -> S | None:
        """The draft, forgotten as it is read; None when there is none."""
        data = self._data(context)
        return self.kind.from_json(data.pop(self.key)) if self.key in data else None

    def drop(self, context: SunboxContext) -> None:
        """Forget the draft."""
        self._data(context).pop(self.key, None)


@dataclass
class Attachment(Stored):
    """A photo or document a person added to a draft (by its Telegram ids). ``ref`` numbers a
    resident's documents, for the Keep / Drop buttons of the one just added."""

    kind: str
    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    ref: int | None = None

    @classmethod
    def of(cls, message: Any, ref: int | None = None) -> Attachment | None:
        """The largest size of a message's photo, or its document; None if it has neither."""
        if message.photo:
            photo = message.photo[-1]
            return cls("photo", photo.file_id, photo.file_unique_id)
        if message.document:
            doc = message.document
            return cls("document", doc.file_id, doc.file_unique_id, doc.file_name,
                       doc.mime_type, ref)
        return None

    def new(self) -> NewAttachment:
        """As the services take it."""
        return NewAttachment(self.kind, self.file_id, self.file_unique_id, self.file_name,
                             self.mime_type)


# ---------------------------------------------------------------- JSON ⇄ fields

@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _dump(value: Any) -> Any:
    if isinstance(value, Stored):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [_dump(item) for item in value]
    return value


def _load(kind: Any, value: Any) -> Any:
    """``value`` (from JSON) as a field of type ``kind``; :class:`Mismatch` if it is not."""
    if kind is Any:
        return value
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(kind):
            return None
        for arm in typing.get_args(kind):
            try:
                return _load(arm, value)
            except Mismatch:
                continue
        raise Mismatch(f"{value!r} is not a {kind}")
    if origin is list:
        if not isinstance(value, list):
            raise Mismatch(f"{value!r} is not a list")
        (item,) = typing.get_args(kind)
        loaded = []
        for element in value:
            try:
                loaded.append(_load(item, element))
            except Mismatch:
                continue  # an unreadable item is left out, the others kept
        return loaded
    if isinstance(kind, type) and issubclass(kind, Stored):
        if not isinstance(kind.upgrade(value), Mapping):
            raise Mismatch(f"{value!r} is not a {kind.__name__}")
        return kind.from_json(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(kind, type) and isinstance(value, kind) and not (
            isinstance(value, bool) and kind is not bool):
        return value
    raise Mismatch(f"{value!r} is not a {kind}")
