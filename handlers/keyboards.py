"""Inline keyboards shared by several flows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


TREE_PAGE = 6


def unit_tree_markup(
    context: SunboxContext, node: str, page: int, prefix: str, cancel_data: str
) -> InlineKeyboardMarkup:
    """One level of the unit tree, paged: ``<prefix>:tree:<unit>:<page>`` opens a level,
    ``<prefix>:pick:<unit>`` chooses a unit (``node`` "" is the top of the tree)."""
    config = context.runtime.config
    t = context.t
    children = config.children(node) if node else config.roots()
    pages = max(1, -(-len(children) // TREE_PAGE))
    page = min(max(page, 0), pages - 1)
    rows: list[list[Any]] = []
    if node:
        rows.append([button(t("✔ {unit} itself").format(
            unit=config.unit(node).name(context.language)), f"{prefix}:pick:{node}")])
    for child in children[page * TREE_PAGE:(page + 1) * TREE_PAGE]:
        label = child.name(context.language)
        if config.children(child.id):
            rows.append([button(t("{unit} ›").format(unit=label),
                                f"{prefix}:tree:{child.id}:0")])
        else:
            rows.append([button(label, f"{prefix}:pick:{child.id}")])
    nav = pager_row(context, page, pages, f"{prefix}:tree:{node}:")
    if nav:
        rows.append(nav)
    if node:
        parent = config.unit(node).parent or ""
        rows.append([button(t("⬆ Up"), f"{prefix}:tree:{parent}:0")])
    rows.append([button(t("✖ Cancel"), cancel_data)])
    return InlineKeyboardMarkup(rows)


def category_rows(context: SunboxContext, prefix: str) -> list[list[InlineKeyboardButton]]:
    """The configured categories, two a row, as ``<prefix>:cat:<id>`` buttons."""
    buttons = [button(c.name(context.language), f"{prefix}:cat:{c.id}")
               for c in context.runtime.config.categories]
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
