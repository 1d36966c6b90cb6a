"""Decoding of Bot API call parameters.

Parameters arrive either as Python values (JSON bodies, direct calls) or as strings (form data;
PTB sends every value through ``RequestParameter.json_value``: strings as-is, numbers/bools as
JSON text, lists/dicts JSON-encoded). ``Params`` accepts both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .models import ApiError, bad_request

__all__ = ["JSON_FIELDS", "Params", "decode_params"]

JSON_FIELDS = frozenset({
    "reply_markup", "entities", "caption_entities", "media", "link_preview_options",
    "reply_parameters", "allowed_updates", "commands", "scope", "menu_button", "results",
    "reaction", "options", "explanation_entities", "rights",
})

_PARSE_ERRORS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
}


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Copy ``raw``, JSON-decoding string values of the known complex fields."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in JSON_FIELDS and isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise bad_request(_PARSE_ERRORS.get(key, f"can't parse {key} JSON object")) from exc
        out[key] = value
    return out


class Params:
    """Typed access to decoded call parameters with Telegram-like errors."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw: dict[str, Any] = decode_params(raw)

    def __contains__(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key)
        return default if value is None else value

    def string(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, key: str, *, error: ApiError | None = None) -> int | None:
        """Integer value; ``error`` is raised if missing (None if missing and no error)."""
        value = self.raw.get(key)
        if value is None or value == "":
            if error is not None:
                raise error
            return None
        if isinstance(value, bool):
            return int(value)
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"invalid {key} specified") from exc

    def number(self, key: str) -> float | None:
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"invalid {key} specified") from exc

    def flag(self, key: str) -> bool:
        value = self.raw.get(key)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def chat_id(self, key: str = "chat_id") -> int | str:
        """An int chat id or an "@username" string; 400 "chat_id is empty" if missing."""
        value = self.raw.get(key)
        if value is None or value == "":
            raise bad_request(f"{key} is empty")
        if isinstance(value, bool):
            raise bad_request("chat not found")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError as exc:
            raise bad_request("chat not found") from exc
