"""A person's dialog state and drafts put back into PTB's memory: the one use of a private
name of ``ConversationHandler`` (its ``_conversations``).

Several instances on one database take turns with each person (``bot.telegram.turns``):
the instance handling a person's update now may not be the one that handled their last, so
what it remembers of them (the dialog's state, ``user_data`` with the draft) may be old.
Before each update it puts back what the database holds (``storage.conversations``; the
gatekeeper wrote it with the last update, ``handlers.gate.finish``).

- ``user_data``: ``Application.user_data`` is a read-only view of PTB's mapping of people to
  their data; looking a person up makes their dict (as PTB does when an update of theirs
  arrives), which is then emptied and filled in place, so PTB's own reference stays valid.
- The dialog's state: ``ConversationHandler`` has no public way to set a conversation's
  state. Its ``_conversations`` is, for a persistent handler, PTB's ``TrackingDict``:
  ``update_no_track`` sets a state without marking it changed (it was read from the
  database, so it is not written back), and its ``data`` is the plain dict beneath, from
  which an ended conversation is removed, also untracked. ``check_update`` reads it.

tests/transport/test_conversation_states.py pins this contract against the installed PTB.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ConversationHandler


def persistent_dialogs(application: Application[Any, Any, Any, Any, Any, Any]
                       ) -> dict[str, ConversationHandler[Any]]:
    """The application's persistent conversation handlers, by name."""
    found: dict[str, ConversationHandler[Any]] = {}
    for handlers in application.handlers.values():
        for handler in handlers:
            if isinstance(handler, ConversationHandler) and handler.persistent and handler.name:
                found[handler.name] = handler
    return found


def put_state(handler: ConversationHandler[Any], key: tuple[int | str, ...],
              state: object | None) -> None:
    """Set (or, for None, end) one conversation's state in memory, untracked."""
    conversations = handler._conversations  # noqa: SLF001 - the one private use; see above
    if state is None:
        conversations.data.pop(key, None)  # type: ignore[attr-defined]
    else:
        conversations.update_no_track({key: state})  # type: ignore[attr-defined]


def put_user_data(application: Application[Any, Any, Any, Any, Any, Any], user_id: int,
                  data: dict[str, Any]) -> None:
    """Make ``user_id``'s data in memory equal ``data`` (in place)."""
    mine = application.user_data[user_id]
    mine.clear()
    mine.update(data)
