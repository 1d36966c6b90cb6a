"""The assessment as an XLSX workbook: figures, the cases behind them, accountability.

Sheet 1 (figures): a title line, then one header row, then for every unit its own figures
and, for a unit with units below it, the subtotal of its subtree; the last row is the
total of every unit in the report. Sheet 2 (cases): one row per case counted in a figure.
Sheet 3 (accountability): one row per case that put a unit on the list.
Rates are stored as fractions with a percent format, times as working days.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from bot.config import Config
from bot.i18n import N_, Translate, translator
from bot.reports import percent, title, unit_name
from bot.services.assessment import (
    DAY_FIGURES,
    FIGURES,
    ITEM_FIGURES,
    NOT_YET_AVAILABLE,
    RANK_NOTES,
    RATE_FIGURES,
    REASONS,
    RESULTS,
    Assessment,
    Figures,
    Item,
    UnitRow,
)

SHEETS = (N_("Figures"), N_("Cases"), N_("Accountability"))
SCOPES = {
    "own": N_("own"),
    "subtree": N_("with units below"),
    "total": N_("all units in the report"),
}
UNIT_HEADERS = (N_("Unit"), N_("Unit id"), N_("Scope"))
ITEM_HEADERS = (N_("Figure"), N_("Unit"), N_("Unit id"), N_("Case"), N_("Moment"), N_("Due"),
                N_("Working days"), N_("Counts in favour"), N_("What happened"))
ACCOUNTABILITY_HEADERS = (N_("Unit"), N_("Unit id"), N_("Reason"), N_("Case"), N_("Moment"),
                          N_("Due"), N_("Working days"), N_("What happened"))
NOT_AVAILABLE = N_("not yet available")
YES, NO = N_("yes"), N_("no")
TOTAL = N_("All units")

PERCENT_FORMAT = "0.0%"
SIGNED_PERCENT_FORMAT = "+0.0%;-0.0%;0.0%"
DAYS_FORMAT = "0.00"
SCORE_FORMAT = "0.0"
TIME_FORMAT = "yyyy-mm-dd hh:mm"


def build_workbook(assessment: Assessment, config: Config, language: str) -> bytes:
    """The workbook as XLSX bytes."""
    from openpyxl import Workbook

    t = translator(language)
    workbook = Workbook()
    figures = workbook.active
    assert figures is not None
    figures.title = t(SHEETS[0])
    _figures_sheet(figures, t, assessment, config, language)
    _items_sheet(workbook.create_sheet(t(SHEETS[1])), t, assessment, config, language)
    _accountability_sheet(workbook.create_sheet(t(SHEETS[2])), t, assessment, config, language)
    workbook.properties.title = title(t, assessment)
    workbook.properties.creator = "Sunbox"
    workbook.properties.created = _naive(assessment, assessment.as_of)
    workbook.properties.modified = _naive(assessment, assessment.as_of)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _naive(assessment: Assessment, moment: datetime | None) -> datetime | None:
    """Local wall time without a zone: Excel has no time zones."""
    if moment is None:
        return None
    return moment.astimezone(assessment.tz).replace(tzinfo=None)


def _header(sheet: Any, row: int, labels: list[str]) -> None:
    from openpyxl.styles import Alignment, Font

    for column, label in enumerate(labels, start=1):
        cell = sheet.cell(row=row, column=column, value=label)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _widths(sheet: Any, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _figure_cells(t: Translate, figures: Figures, row: UnitRow | None,
                  min_cases: int) -> list[tuple[Any, str | None]]:
    cells: list[tuple[Any, str | None]] = []
    for key, _ in FIGURES:
        if key in NOT_YET_AVAILABLE:
            cells.append((t(NOT_AVAILABLE), None))
        elif key == "rank":
            if row is None:
                cells.append((None, None))
            elif row.rank is not None:
                cells.append((row.rank, None))
            else:
                note = RANK_NOTES.get(row.rank_note or "", "")
                cells.append((t(note).format(min=min_cases) if note else None, None))
        elif key == "volume_change":
            cells.append((figures.value(key), SIGNED_PERCENT_FORMAT))
        elif key in RATE_FIGURES:
            cells.append((figures.value(key), PERCENT_FORMAT))
        elif key in DAY_FIGURES:
            cells.append((figures.value(key), DAYS_FORMAT))
        elif key == "score":
            cells.append((figures.value(key), SCORE_FORMAT))
        else:
            cells.append((figures.value(key), None))
    return cells


def _figures_sheet(sheet: Any, t: Translate, assessment: Assessment, config: Config,
                   language: str) -> None:
    sheet.cell(row=1, column=1, value=title(t, assessment))
    labels = [t(h) for h in UNIT_HEADERS] + [t(label) for _, label in FIGURES]
    _header(sheet, 2, labels)
    line = 3
    min_cases = assessment.settings.min_cases

    def write(name: str, unit_id: str, scope: str, figures: Figures,
              row: UnitRow | None) -> None:
        nonlocal line
        sheet.cell(row=line, column=1, value=name)
        sheet.cell(row=line, column=2, value=unit_id)
        sheet.cell(row=line, column=3, value=t(SCOPES[scope]))
        for column, (value, fmt) in enumerate(_figure_cells(t, figures, row, min_cases),
                                              start=len(UNIT_HEADERS) + 1):
            cell = sheet.cell(row=line, column=column, value=value)
            if fmt is not None:
                cell.number_format = fmt
        line += 1

    for row in assessment.rows:
        name = "  " * row.depth + unit_name(config, row.unit_id, language)
        write(name, row.unit_id, "own", row.own, row)
        if row.has_children:
            write(name, row.unit_id, "subtree", row.subtree, None)
    write(t(TOTAL), "", "total", assessment.total, None)
    sheet.freeze_panes = "D3"
    _widths(sheet, [34, 20, 14] + [14] * len(FIGURES))


def _item_cells(t: Translate, assessment: Assessment, item: Item) -> list[Any]:
    return [
        item.number,
        _naive(assessment, item.at),
        _naive(assessment, item.due),
        None if item.days is None else round(item.days, 4),
        "" if item.ok is None else t(YES if item.ok else NO),
        t(RESULTS[item.result]) if item.result in RESULTS else item.result,
    ]


def _write_item_row(sheet: Any, line: int, leading: list[Any], cells: list[Any]) -> None:
    values = leading + cells
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=line, column=column, value=value)
        if isinstance(value, datetime):
            cell.number_format = TIME_FORMAT
        elif isinstance(value, float):
            cell.number_format = DAYS_FORMAT


def _items_sheet(sheet: Any, t: Translate, assessment: Assessment, config: Config,
                 language: str) -> None:
    _header(sheet, 1, [t(h) for h in ITEM_HEADERS])
    order = {figure: index for index, figure in enumerate(ITEM_FIGURES)}
    items = sorted(assessment.items, key=lambda i: (order.get(i.figure, 99), i.unit_id, i.at,
                                                    i.case_id))
    for line, item in enumerate(items, start=2):
        figure = ITEM_FIGURES.get(item.figure, item.figure)
        leading = [t(figure), unit_name(config, item.unit_id, language), item.unit_id]
        _write_item_row(sheet, line, leading, _item_cells(t, assessment, item))
    sheet.freeze_panes = "A2"
    _widths(sheet, [26, 30, 20, 16, 18, 18, 14, 16, 40])


def _accountability_sheet(sheet: Any, t: Translate, assessment: Assessment, config: Config,
                          language: str) -> None:
    _header(sheet, 1, [t(h) for h in ACCOUNTABILITY_HEADERS])
    line = 2
    for entry in assessment.accountability:
        if entry.reason == "answer_on_time":
            reason = t(REASONS[entry.reason]).format(value=percent(entry.value),
                                                     threshold=percent(entry.threshold))
        else:
            reason = t(REASONS[entry.reason]).format(value=f"{entry.value:.1f}",
                                                     threshold=f"{entry.threshold:g}")
        name = unit_name(config, entry.unit_id, language)
        for item in entry.items:
            cells = _item_cells(t, assessment, item)
            del cells[4]  # "counts in favour" says nothing here: every one counts against
            _write_item_row(sheet, line, [name, entry.unit_id, reason], cells)
            line += 1
    sheet.freeze_panes = "A2"
    _widths(sheet, [30, 20, 44, 16, 18, 18, 14, 40])
