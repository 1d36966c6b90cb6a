"""The assessment as an XLSX workbook: figures, the cases behind them, accountability, and
the disclosure register's figures.

Sheet 1 (figures): a title line, then one header row, then for every unit its own figures
and, for a unit with units below it, the subtotal of its subtree; the last row is the
total of every unit in the report. Sheet 2 (cases): the cases that count against a unit
(overdue now, answered or accepted late, not satisfied, passed to the supervision group), at
most ``LIST_LIMIT`` per unit and figure. Sheet 3 (accountability): the cases (and the
disclosure obligations) that put a unit on the list. Sheet 4 (disclosure, 公开): the
register's figures in the rows of sheet 1, then the obligations each unit did not meet on
time, at most ``LIST_LIMIT`` per unit.
Rates are stored as fractions with a percent format, times as working days, moments as the
county's local time. Written by XlsxWriter row by row through a scratch file (its
constant-memory mode), so memory stays flat however many cases a county has; it writes the
report's ~130,000 cells at 1M cases in 0.85 s where openpyxl took 1.4 s.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.i18n import N_, NP_, Translate, plural_count, plural_translator, translator
from bot.reports import percent, title, unit_name
from bot.services.assessment import (
    LIST_FIGURES,
    LIST_LIMIT,
    NOT_YET_AVAILABLE,
    Assessment,
    Duty,
    Figures,
    Item,
    UnitRow,
)

# The figures, in the order of the workbook's columns; each one is defined in
# docs/assessment.md under the same name.
FIGURES: tuple[tuple[str, str], ...] = (
    ("received", N_("Cases received")),
    ("received_year_before", N_("Received a year before")),
    ("volume_change", N_("Change against a year before")),
    ("accept_total", N_("Acceptances due")),
    ("accepted_on_time", N_("Accepted on time")),
    ("accept_rate", N_("On-time acceptance rate")),
    ("answer_total", N_("Answers due")),
    ("answered_on_time", N_("Answered on time")),
    ("answer_rate", N_("On-time answer rate")),
    ("overdue_now", N_("Overdue now")),
    ("accept_avg", N_("Average time to accept (working days)")),
    ("accept_p90", N_("90th percentile time to accept (working days)")),
    ("answer_avg", N_("Average time to answer (working days)")),
    ("answer_p90", N_("90th percentile time to answer (working days)")),
    ("extensions", N_("Extensions")),
    ("transfers", N_("Transfers")),
    ("reopened", N_("Reopened")),
    ("rated", N_("Rated answers")),
    ("satisfied", N_("Satisfied")),
    ("satisfaction_rate", N_("Satisfaction rate")),
    ("response_rate", N_("Response rate")),
    ("resolution_rate", N_("Resolution rate")),
    ("score", N_("Composite score")),
    ("rank", N_("Rank")),
    ("meetings", N_("Meetings held / scheduled")),
    ("attendance", N_("Supervisor attendance")),
)
RATE_FIGURES = ("volume_change", "accept_rate", "answer_rate", "satisfaction_rate",
                "response_rate", "resolution_rate")
DAY_FIGURES = ("accept_avg", "accept_p90", "answer_avg", "answer_p90")
# Item lists behind the figures (the workbook's second sheet), by item figure.
ITEM_FIGURES: dict[str, str] = {
    "received": N_("Cases received"),
    "received_year_before": N_("Received a year before"),
    "accepted_on_time": N_("Accepted on time"),
    "answered_on_time": N_("Answered on time"),
    "overdue_now": N_("Overdue now"),
    "accept_time": N_("Time to accept"),
    "answer_time": N_("Time to answer"),
    "extensions": N_("Extensions"),
    "transfers": N_("Transfers"),
    "reopened": N_("Reopened"),
    "satisfaction": N_("Satisfaction rate"),
    "response": N_("Response rate"),
    "resolution": N_("Resolution rate"),
}
RESULTS = {
    "filed": N_("filed with the unit"),
    "transferred": N_("transferred"),
    "escalated": N_("passed to the supervision group"),
    "rating_escalated": N_("passed to the supervision group after two unsatisfied ratings"),
    "accepted": N_("accepted"),
    "passed_on": N_("passed on to another unit"),
    "not_accepted": N_("not accepted"),
    "answered": N_("answered"),
    "not_answered": N_("not answered"),
    "accept_overdue": N_("acceptance overdue"),
    "answer_overdue": N_("answer overdue"),
    "extension_accept": N_("more time to accept"),
    "extension_answer": N_("more time to answer"),
    "reopened": N_("reopened at the unit"),
    "satisfied": N_("satisfied"),
    "basically": N_("basically satisfied"),
    "unsatisfied": N_("not satisfied"),
    "resolved": N_("resolved"),
    "partly_resolved": N_("partly resolved"),
    "explained": N_("explained: cannot be done"),
    "not_ours": N_("not our responsibility"),
}
REASONS = {
    "answer_on_time": N_("On-time answer rate {value} is below {threshold}"),
    "disclosure_on_time": N_("Disclosure on-time rate {value} is below {threshold}"),
}
# The disclosure register's figures (sheet 4), as in docs/assessment.md.
DISCLOSURE_FIGURES: tuple[tuple[str, str], ...] = (
    ("obligations_due", N_("Obligations due")),
    ("obligations_on_time", N_("Met on time")),
    ("disclosure_on_time_rate", N_("Disclosure on-time rate")),
    ("disclosures_published", N_("Disclosures published")),
    ("disclosures_complete", N_("Every form confirmed")),
    ("disclosure_completeness", N_("Completeness")),
    ("opinions", N_("Opinions")),
    ("opinions_answered", N_("Opinions answered")),
    ("opinion_response_rate", N_("Opinion response rate")),
)
DISCLOSURE_RATES = ("disclosure_on_time_rate", "disclosure_completeness",
                    "opinion_response_rate")
MISSED = N_("Obligations not met on time")
DUTY_HEADERS = (N_("Unit"), N_("Unit id"), N_("Obligation"), N_("Due"), N_("Met"),
                N_("What happened"))
DUTY_RESULTS = {"late": N_("met after its deadline"), "not_met": N_("not met")}
MORE_DUTIES = NP_("… and {count} more obligation: the figure counts them all; a list shows "
                  "at most {limit}.",
                  "… and {count} more obligations: the figure counts them all; a list shows "
                  "at most {limit}.")
OVERDUE_REASON = NP_("A case is overdue by {value} working day, more than {threshold}",
                     "A case is overdue by {value} working days, more than {threshold}")
RANK_NOTES = {
    "no_score": N_("not ranked: no score"),
}
FEW_CASES = NP_("not ranked: fewer than {min} case", "not ranked: fewer than {min} cases")

SHEETS = (N_("Figures"), N_("Cases"), N_("Accountability"), N_("Disclosure"))
SCOPES = {
    "own": N_("own"),
    "subtree": N_("with units below"),
    "total": N_("all units in the report"),
}
UNIT_HEADERS = (N_("Unit"), N_("Unit id"), N_("Scope"))
ITEM_HEADERS = (N_("Figure"), N_("Unit"), N_("Unit id"), N_("Case"), N_("Moment"), N_("Due"),
                N_("Working days"), N_("What happened"))
ACCOUNTABILITY_HEADERS = (N_("Unit"), N_("Unit id"), N_("Reason"), N_("Case"), N_("Moment"),
                          N_("Due"), N_("Working days"), N_("What happened"))
NOT_AVAILABLE = N_("not yet available")
TOTAL = N_("All units")
MORE_ROWS = NP_("… {count} more row not shown: a sheet holds at most {max} rows.",
                "… {count} more rows not shown: a sheet holds at most {max} rows.")
MORE_CASES = NP_("… and {count} more case: the figure counts them all; a list shows at most "
                 "{limit}.",
                 "… and {count} more cases: the figure counts them all; a list shows at most "
                 "{limit}.")
MAX_ROWS = 1_048_576  # Excel's limit per sheet

PERCENT_FORMAT = "0.0%"
SIGNED_PERCENT_FORMAT = "+0.0%;-0.0%;0.0%"
DAYS_FORMAT = "0.00"
SCORE_FORMAT = "0.0"
TIME_FORMAT = "yyyy-mm-dd hh:mm"

Cell = tuple[Any, str | None]  # a value and its number format


def build_workbook(assessment: Assessment, config: Config, language: str, *,
                   max_rows: int = MAX_ROWS) -> bytes:
    """The workbook as XLSX bytes (``max_rows``: rows per sheet, Excel's limit)."""
    import xlsxwriter

    t = translator(language)
    with tempfile.TemporaryDirectory(prefix="sunbox-xlsx-") as scratch:
        path = Path(scratch) / "assessment.xlsx"
        workbook = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "tmpdir": scratch, "nan_inf_to_errors": True})
        sheets = [_Sheet(workbook, t(name)) for name in SHEETS]
        _figures_sheet(sheets[0], t, assessment, config, language)
        _items_sheet(sheets[1], t, assessment, config, language, max_rows)
        _accountability_sheet(sheets[2], t, assessment, config, language)
        _disclosure_sheet(sheets[3], t, assessment, config, language)
        workbook.set_properties({"title": title(t, assessment), "author": "Sunbox",
                                 "created": _naive(assessment, assessment.as_of)})
        workbook.close()
        return path.read_bytes()


def _naive(assessment: Assessment, moment: datetime | None) -> datetime | None:
    """Local wall time without a zone: Excel has no time zones."""
    if moment is None:
        return None
    return moment.astimezone(assessment.tz).replace(tzinfo=None)


class _Sheet:
    """A worksheet written row after row, each cell by its type with its number format."""

    def __init__(self, workbook: Any, name: str) -> None:
        self.workbook = workbook
        self.sheet = workbook.add_worksheet(name)
        self.row = 0
        self.formats: dict[tuple[str | None, bool], Any] = {}

    def format(self, number_format: str | None, bold: bool) -> Any:
        key = (number_format, bold)
        if key not in self.formats:
            spec: dict[str, Any] = {"num_format": number_format} if number_format else {}
            if bold:
                spec |= {"bold": True, "text_wrap": True, "valign": "top"}
            self.formats[key] = self.workbook.add_format(spec) if spec else None
        return self.formats[key]

    def layout(self, widths: list[int], freeze: str) -> None:
        """Column widths and frozen panes."""
        for column, width in enumerate(widths):
            self.sheet.set_column(column, column, width)
        self.sheet.freeze_panes(freeze)

    def append(self, cells: Iterable[Cell], *, bold: bool = False) -> None:
        """One row of cells, each with its number format. Text is always written as text
        (never read as a formula or a link)."""
        sheet, row = self.sheet, self.row
        for column, (value, number_format) in enumerate(cells):
            if number_format is None and isinstance(value, datetime):
                number_format = TIME_FORMAT
            style = self.format(number_format, bold)
            if value is None:
                sheet.write_blank(row, column, None, style)
            elif isinstance(value, str):
                sheet.write_string(row, column, value, style)
            elif isinstance(value, datetime):
                sheet.write_datetime(row, column, value, style)
            elif isinstance(value, bool):
                sheet.write_boolean(row, column, value, style)
            else:
                sheet.write_number(row, column, value, style)
        self.row += 1


def _plain(values: Iterable[Any]) -> list[Cell]:
    return [(value, None) for value in values]


def _figure_cells(t: Translate, figures: Figures, row: UnitRow | None,
                  few_cases: str,
                  meetings: dict[str, tuple[int, int, float | None]] | None = None
                  ) -> list[Cell]:
    cells: list[Cell] = []
    met = (meetings or {}).get(row.unit_id) if row is not None else None
    for key, _ in FIGURES:
        if key in NOT_YET_AVAILABLE:
            # Meetings are a unit's own (no subtotal): held / scheduled, and attendance.
            if met is None:
                cells.append((t(NOT_AVAILABLE) if meetings is None else None, None))
            elif key == "meetings":
                cells.append((f"{met[0]} / {met[1]}", None))
            else:
                cells.append((met[2], PERCENT_FORMAT))
        elif key == "rank":
            if row is None:
                cells.append((None, None))
            elif row.rank is not None:
                cells.append((row.rank, None))
            else:
                note = (few_cases if row.rank_note == "few_cases"
                        else t(RANK_NOTES[row.rank_note]) if row.rank_note in RANK_NOTES
                        else None)
                cells.append((note, None))
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


def _figures_sheet(sheet: _Sheet, t: Translate, assessment: Assessment, config: Config,
                   language: str) -> None:
    sheet.layout([34, 20, 14] + [14] * len(FIGURES), "D3")
    sheet.append([(title(t, assessment), None)])
    sheet.append(_plain([t(h) for h in UNIT_HEADERS] + [t(label) for _, label in FIGURES]),
                 bold=True)
    min_cases = assessment.settings.min_cases
    few_cases = plural_translator(language)(*FEW_CASES, min_cases).format(min=min_cases)

    def write(name: str, unit_id: str | None, scope: str, figures: Figures,
              row: UnitRow | None) -> None:
        sheet.append(_plain([name, unit_id, t(SCOPES[scope])])
                     + _figure_cells(t, figures, row, few_cases, assessment.meetings))

    for row in assessment.rows:
        name = "  " * row.depth + unit_name(config, row.unit_id, language)
        write(name, row.unit_id, "own", row.own, row)
        if row.has_children:
            write(name, row.unit_id, "subtree", row.subtree, None)
    write(t(TOTAL), None, "total", assessment.total, None)


def _item_cells(t: Translate, assessment: Assessment, item: Item) -> list[Cell]:
    return [
        (item.number, None),
        (_naive(assessment, item.at), None),
        (_naive(assessment, item.due), None),
        (None if item.days is None else round(item.days, 4), DAYS_FORMAT),
        (t(RESULTS[item.result]) if item.result in RESULTS else item.result, None),
    ]


def _items_sheet(sheet: _Sheet, t: Translate, assessment: Assessment, config: Config,
                 language: str, max_rows: int = MAX_ROWS) -> None:
    """The cases that count against each unit, figure by figure; a unit's list stops at
    :data:`LIST_LIMIT` cases with a line saying how many more the figure counts."""
    sheet.layout([26, 30, 20, 16, 18, 18, 14, 40], "A2")
    sheet.append(_plain(t(h) for h in ITEM_HEADERS), bold=True)
    order = {figure: index for index, figure in enumerate(LIST_FIGURES)}
    lists = sorted(assessment.lists, key=lambda cases: order.get(cases.figure, 99))
    room = max_rows - 2  # the header, and the line saying what did not fit
    written = total = 0
    for cases in lists:
        leading = _plain([t(ITEM_FIGURES.get(cases.figure, cases.figure)),
                          unit_name(config, cases.unit_id, language), cases.unit_id])
        lines = [leading + _item_cells(t, assessment, item) for item in cases.items]
        if cases.left_out:
            lines.append(leading + [(plural_translator(language)(
                *MORE_CASES, cases.left_out).format(count=cases.left_out, limit=LIST_LIMIT),
                None)])
        total += len(lines)
        for line in lines[:max(0, room - written)]:
            sheet.append(line)
            written += 1
    if total > written:
        sheet.append([(plural_translator(language)(*MORE_ROWS, total - written).format(
            count=total - written, max=max_rows), None)])


def _accountability_sheet(sheet: _Sheet, t: Translate, assessment: Assessment, config: Config,
                          language: str) -> None:
    sheet.layout([30, 20, 44, 16, 18, 18, 14, 40], "A2")
    sheet.append(_plain(t(h) for h in ACCOUNTABILITY_HEADERS), bold=True)
    for entry in assessment.accountability:
        if entry.reason in REASONS:
            reason = t(REASONS[entry.reason]).format(value=percent(entry.value),
                                                     threshold=percent(entry.threshold))
        else:
            reason = plural_translator(language)(
                *OVERDUE_REASON, plural_count(round(entry.value, 1))).format(
                value=f"{entry.value:.1f}", threshold=f"{entry.threshold:g}")
        leading = [unit_name(config, entry.unit_id, language), entry.unit_id, reason]
        for item in entry.items:
            sheet.append(_plain(leading) + _item_cells(t, assessment, item))
        for duty in entry.duties:
            cells = _duty_cells(t, assessment, config, language, duty)
            sheet.append(_plain(leading) + [cells[0], cells[2], cells[1], (None, None),
                                            cells[3]])
        if entry.left_out:
            more = MORE_DUTIES if entry.reason == "disclosure_on_time" else MORE_CASES
            sheet.append(_plain(leading) + [(plural_translator(language)(
                *more, entry.left_out).format(count=entry.left_out, limit=LIST_LIMIT),
                None)])


def _duty_cells(t: Translate, assessment: Assessment, config: Config, language: str,
                duty: Duty) -> list[Cell]:
    """An obligation missed: what (the catalog item, and the title or period), when due,
    when met (empty: not met), and what happened."""
    try:
        name = config.disclosure_item(duty.item_id).name(language)
    except KeyError:  # an item no longer in the catalog
        name = duty.item_id
    return [(f"{name} · {duty.title or duty.period_key}", None),
            (_naive(assessment, duty.due), None), (_naive(assessment, duty.met), None),
            (t(DUTY_RESULTS["not_met" if duty.met is None else "late"]), None)]


def _disclosure_sheet(sheet: _Sheet, t: Translate, assessment: Assessment, config: Config,
                      language: str) -> None:
    """The register's figures per unit, own and with units below, and the total; then the
    obligations each unit missed."""
    sheet.layout([34, 20, 30, 18, 18, 14] + [14] * (len(DISCLOSURE_FIGURES) - 3), "D2")
    sheet.append(_plain([t(h) for h in UNIT_HEADERS]
                        + [t(label) for _, label in DISCLOSURE_FIGURES]), bold=True)

    def write(name: str, unit_id: str | None, scope: str, figures: Figures) -> None:
        sheet.append(_plain([name, unit_id, t(SCOPES[scope])]) + [
            (getattr(figures, key), PERCENT_FORMAT if key in DISCLOSURE_RATES else None)
            for key, _ in DISCLOSURE_FIGURES])

    for row in assessment.rows:
        name = "  " * row.depth + unit_name(config, row.unit_id, language)
        write(name, row.unit_id, "own", row.own)
        if row.has_children:
            write(name, row.unit_id, "subtree", row.subtree)
    write(t(TOTAL), None, "total", assessment.total)
    sheet.append([])
    sheet.append([(t(MISSED), None)], bold=True)
    sheet.append(_plain(t(h) for h in DUTY_HEADERS), bold=True)
    for row in assessment.rows:
        duties = assessment.duties.get(row.unit_id, ())
        leading = _plain([unit_name(config, row.unit_id, language), row.unit_id])
        for duty in duties:
            sheet.append(leading + _duty_cells(t, assessment, config, language, duty))
        left_out = row.own.obligations_due - row.own.obligations_on_time - len(duties)
        if left_out > 0:
            sheet.append(leading + [(plural_translator(language)(*MORE_DUTIES, left_out).format(
                count=left_out, limit=LIST_LIMIT), None)])
