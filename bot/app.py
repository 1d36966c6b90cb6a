"""Building the Application: the one place that wires Sunbox together."""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot import ablation, redaction
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.i18n import compile_catalogs
from bot.metrics import metrics_of
from bot.runtime import Runtime
from bot.scrubber import Scrubber
from bot.services import deadlines, notify, routing
from bot.services import meetings as meeting_service
from bot.services.disclosures import duties
from bot.telegram import retrying
from bot.telegram.durable_request import DurableRequest
from bot.telegram.filestore import FileKeeper
from bot.telegram.http import AiohttpRequest
from bot.telegram.outbox import OutboxSender
from bot.telegram.pacing import Rates
from bot.telegram.persistence import SqlitePersistence
from bot.telegram.retrying import RetryingRateLimiter
from bot.telegram.update_processor import PersonByPerson
from handlers import (
    admin,
    assessment,
    clerk,
    conversation,
    disclosures,
    fallback,
    gate,
    inbox,
    jobs,
    meetings,
    menus,
    my_cases,
    official,
    start,
)
from handlers.context import BotData, SunboxContext

log = logging.getLogger(__name__)

def build_application(
    config: Config,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    clock: Clock | None = None,
    database: str | None = None,
    rate_limiter: bool = True,
    outbox_loop: bool = True,
    outbox_rates: Rates | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The real Sunbox Application for a configuration.

    Tests and the demo pass their own transport (``request``) and clock. Nothing here
    touches the network or the database: ``post_init`` opens the database and starts the
    outbox sender (its background loop only with ``outbox_loop``; tests drain it
    themselves), and ``post_shutdown`` stops both.
    """
    compile_catalogs()
    redaction.install(config.telegram.token)  # no log line carries the token
    runtime = Runtime(config, clock or SystemClock(), database or config.general.database,
                      lease_timeout=config.cluster.lease_timeout.as_timedelta().total_seconds())
    token = config.telegram.token or "0:unset"
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(config.telegram.bot_url)
        .base_file_url(config.telegram.file_url)
        .defaults(Defaults(tzinfo=config.general.tz, parse_mode=None,
                           disable_notification=False))
        .context_types(ContextTypes(context=SunboxContext, bot_data=BotData))
        .persistence(SqlitePersistence(runtime))
        # Each person's updates in order, different people's side by side; the poller and
        # the test bench hand every update to it (bot/telegram/update_processor.py).
        .concurrent_updates(PersonByPerson())
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if rate_limiter:
        # PTB's overall 30/s bucket would also pace direct replies behind the outbox, which
        # paces itself; keep the per-group limit and the retries of 429s, and retry calls
        # harmless to repeat after a 5xx (bot/telegram/retrying.py).
        # It also makes every text fit a message (bot/fit.py), in the reader's language.
        async def language_of(chat_id: int) -> str:
            return await runtime.db.read(notify.chat_language, runtime, chat_id)

        builder = builder.rate_limiter(RetryingRateLimiter(  # type: ignore[arg-type]
            overall_max_rate=0, max_retries=retrying.RATE_LIMIT_RETRIES, language_of=language_of))
    # Tests pass the emulator's in-process transport; otherwise aiohttp
    # (bot/telegram/http.py), through the proxy if one is set. Either way a call waits until
    # the commits before it are on disk.
    proxy = config.telegram.proxy
    transport = ablation.plain_request if ablation.off("aiohttp") else AiohttpRequest
    builder = builder.request(DurableRequest(
        request or transport(pool_size=64, proxy=proxy), runtime.durable))
    builder = builder.get_updates_request(DurableRequest(
        get_updates_request or transport(pool_size=2, proxy=proxy), runtime.durable))
    application = builder.build()
    application.bot_data.runtime = runtime
    application.bot_data.sender = OutboxSender(runtime, application.bot, rates=outbox_rates)
    application.bot_data.outbox_loop = outbox_loop
    application.bot_data.files = FileKeeper(runtime, application.bot)
    application.bot_data.scrubber = Scrubber(runtime, application.bot,
                                             application.bot_data.sender.kick,
                                             application.bot_data.files.keep)
    # /metrics (bot/metrics.py): a registry of this Application's own; every error a
    # handler or a job raised is counted by its class.
    metrics = metrics_of(application)

    async def count_error(update: object, context: Any) -> None:
        if context.error is not None:
            metrics.failed(f"handler:{type(context.error).__name__}")

    application.add_error_handler(count_error)
    gate.register(application)
    admin.register(application)
    clerk.register(application)
    start.register(application)
    conversation.register(application)
    official.register(application)
    my_cases.register(application)
    inbox.register(application)
    assessment.register(application)
    meetings.register(application)
    disclosures.register(application)
    jobs.register(application)
    fallback.register(application)
    return application


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Open the database, arm the jobs, publish the menus and descriptions."""
    runtime: Runtime = application.bot_data.runtime
    await runtime.open()
    # Units left without anyone to take a case (members removed from the file, say) pass
    # their open cases up the tree; cards of roles that went are withdrawn.
    await routing.settle(runtime)
    cluster = runtime.shares_database
    if not cluster:
        # What a crash left 'sending' goes once more (before the sender can claim anything).
        await application.bot_data.sender.recover()
    if application.bot_data.outbox_loop:
        application.bot_data.sender.start()
        application.bot_data.sender.kick()
    # Supervisors' meetings of the coming weeks, from the configured schedules.
    await meeting_service.sync(runtime)
    # The register's obligations of periods ending near now.
    await duties.sync(runtime)
    # Deadlines counted on a guessed year that is known now; a warning for those still not.
    await deadlines.calendar_start(runtime)
    if cluster:
        # Several instances: the one holding the lease of the leader recovers the outbox
        # and fires the alarms, now if it is this one (bot/services/leadership.py).
        await jobs.start_leadership(application)
    else:
        # Deadlines that passed while the bot was down fire once, now.
        await jobs.arm(application, force=True)
    # The residents' menu and the bot's descriptions; members get theirs when they write.
    await menus.publish_defaults(application, runtime.config.general.default_language)


async def _post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop the sender, give up the lease of the leader (after the sender: nothing is then
    sent by this instance and the next leader both), and close the database."""
    await application.bot_data.sender.stop()
    await jobs.stop_leadership(application)
    runtime: Runtime = application.bot_data.runtime
    await runtime.close()

