"""Inline keyboards shared by several flows."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.context import SunboxContext


def button(text: str, data: str) -> InlineKeyboardButton:
    """One callback button."""
    return InlineKeyboardButton(text, callback_data=data)


def column(buttons: Sequence[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """One button per row."""
    return [[b] for b in buttons]


def pager_row(
    context: SunboxContext, page: int, pages: int, data_prefix: str
) -> list[InlineKeyboardButton]:
    """« previous · page x/y · next » for a paged list (``<prefix><page>`` callbacks)."""
    if pages <= 1:
        return []
    row: list[InlineKeyboardButton] = []
    if page > 0:
        row.append(button(context.t("« Previous"), f"{data_prefix}{page - 1}"))
    if page < pages - 1:
        row.append(button(context.t("Next »"), f"{data_prefix}{page + 1}"))
    return row


def main_menu(context: SunboxContext) -> InlineKeyboardMarkup:
    """The menu under the welcome message."""
    t = context.t
    return InlineKeyboardMarkup(
        [
            [button(t("📝 Make a suggestion"), "new:start:suggestion")],
            [button(t("🚨 File a named report"), "new:start:report")],
            [button(t("📂 My cases"), "my:page:0")],
            [button(t("❓ Help"), "menu:help"), button(t("🌐 Language"), "menu:language")],
        ]
    )
