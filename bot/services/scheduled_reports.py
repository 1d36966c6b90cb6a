"""The assessment goes to the supervision group by itself at the end of each half year
(and the year): once per period, through the outbox, in each reader's language."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.i18n import translator
from bot.reports import chart, title, workbook
from bot.runtime import Runtime
from bot.services import assessment, notify
from bot.services.assessment import Period, parse_period
from storage import outbox
from storage import reports as report_repo
from storage.sql import Conn

GRACE_DAYS = 31  # a report missed while the bot was down still goes out within a month


def due_periods(today: date) -> list[Period]:
    """Periods that ended within the last month: the half year, and at new year the year."""
    periods: list[Period] = []
    for back in range(1, GRACE_DAYS + 1):
        day = today - timedelta(days=back)
        if (day.month, day.day) == (6, 30):
            periods.append(parse_period(f"{day.year}H1"))
        if (day.month, day.day) == (12, 31):
            periods.append(parse_period(f"{day.year}H2"))
            periods.append(parse_period(f"{day.year}"))
    return periods


async def send_due(runtime: Runtime, folder: Path) -> list[str]:
    """Build and owe the reports of periods that ended and were not sent yet."""
    now = runtime.clock.now()
    today = now.astimezone(runtime.config.general.tz).date()
    sent: list[str] = []
    for period in due_periods(today):
        if await runtime.db.read(report_repo.sent, period.code):
            continue
        recipients = await runtime.db.read(notify.supervision_recipients, runtime)
        result = await assessment.assess(runtime, period)
        files: dict[str, tuple[Path, Path]] = {}
        folder.mkdir(parents=True, exist_ok=True)
        for language in {r.language for r in recipients}:
            png = await asyncio.to_thread(chart.render_png, result, runtime.config, language)
            xlsx = await asyncio.to_thread(workbook.build_workbook, result, runtime.config,
                                           language)
            png_path = folder / f"assessment-{period.code}-{language}.png"
            xlsx_path = folder / f"assessment-{period.code}-{language}.xlsx"
            png_path.write_bytes(png)
            xlsx_path.write_bytes(xlsx)
            files[language] = (png_path, xlsx_path)
        if await runtime.db.write(_send_report, now, period.code, recipients, files,
                                  {language: title(translator(language), result)
                                   for language in files}):
            sent.append(period.code)
    return sent


def _send_report(conn: Conn, now: datetime, code: str, recipients: list[notify.Recipient],
                 files: dict[str, tuple[Path, Path]], captions: dict[str, str]) -> bool:
    """Claim a period's report and queue its files to each recipient (False: sent
    already)."""
    if not report_repo.claim(conn, code, now):
        return False
    for recipient in recipients:
        png_path, xlsx_path = files[recipient.language]
        caption = captions[recipient.language]
        for kind, path in (("photo", png_path), ("document", xlsx_path)):
            outbox.enqueue(conn, now, recipient.chat_id, "file", {
                "kind": kind, "path": str(path), "caption": caption, "filename": path.name})
    return True
