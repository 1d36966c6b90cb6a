"""What the register's steps say to people, in each reader's language: requests to review and
sign, returns, the post in a channel, the private copy, the notices of publication, of a
chat the bot cannot post to, of a new version; and the notice-board poster."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.i18n import N_, Translate, translator
from bot.reports import poster
from bot.runtime import Runtime
from bot.services import notify
from bot.services.disclosures.content import MAJOR_SECTIONS, RESPONSES, SECTION_NAMES
from storage import disclosures as repo
from storage import outbox
from storage.disclosures import Disclosure
from storage.sql import Conn

__all__ = ["translator"]

AUDIENCE_NAMES = {"party": N_("party members (党内)"), "public": N_("public (党外)")}
FORM_NAMES = {
    "channel": N_("channel"), "notice_board": N_("notice board"), "meeting": N_("meeting"),
    "document": N_("document"), "web": N_("web register"),
}
ASPECT_NAMES = {
    "party_building": N_("party building (基层党建)"),
    "major_decisions": N_("major decisions (重大事项决策)"),
    "service_pledges": N_("service pledges (服务承诺)"),
    "personnel": N_("personnel (人事管理)"),
}
POST_FAILURES = {
    "not_admin": N_("the bot is not an administrator allowed to post there: make it an "
                    "administrator with the right to post messages"),
    "not_found": N_("the chat was not found: check public_channel_id / party_chat_id in the "
                    "configuration, and that the bot was added to it"),
    "kicked": N_("the bot was removed from the chat: add it again as an administrator"),
    "other": N_("Telegram refused the post"),
}


def item_name(runtime: Runtime, d: Disclosure, language: str) -> str:
    try:
        return runtime.config.disclosure_item(d.item_id).name(language)
    except KeyError:
        return d.item_id


def aspect_name(runtime: Runtime, aspect: str, t: Translate, language: str) -> str:
    for found in runtime.config.disclosure_aspects:
        if found.id == aspect:
            return found.name_zh if language.startswith("zh") else found.name_en
    return t(ASPECT_NAMES.get(aspect, aspect))


def headline(runtime: Runtime, d: Disclosure, t: Translate, language: str) -> str:
    unit = notify.unit_name(runtime, d.unit_id, language)
    if d.number is None:
        return t("Draft: {title} ({unit})").format(title=d.title, unit=unit)
    return t("{number} · {title} ({unit})").format(number=d.number, title=d.title, unit=unit)


def full_text(runtime: Runtime, d: Disclosure, t: Translate, language: str) -> str:
    """The disclosure as published: headline, meta lines, body and sections."""
    lines = [headline(runtime, d, t, language),
             t("Item: {item} · {aspect} · for {audience}").format(
                 item=item_name(runtime, d, language),
                 aspect=aspect_name(runtime, d.aspect, t, language),
                 audience=t(AUDIENCE_NAMES[d.audience]))]
    if d.published_at is not None:
        lines.append(t("Published {when}").format(when=notify.local_time(runtime,
                                                                         d.published_at)))
    if d.version > 1:
        lines.append(t("Version {version}, replacing an earlier one").format(
            version=d.version))
    if d.pre and d.comment_until is not None:
        lines.append(t("📣 Draft for comment until {when}: your opinion counts.").format(
            when=notify.local_time(runtime, d.comment_until)))
    lines += ["", d.body]
    for key in MAJOR_SECTIONS:
        if d.sections.get(key):
            lines += ["", f"【{t(SECTION_NAMES[key])}】", d.sections[key]]
    if d.sections.get(RESPONSES):
        lines += ["", t("【How the opinions on the draft were taken up (意见采纳情况)】"),
                  d.sections[RESPONSES]]
    return "\n".join(lines)


def private_copy(runtime: Runtime, d: Disclosure, t: Translate, language: str) -> str:
    return t("📢 Party affairs disclosure (党内公开)\n\n{text}").format(
        text=full_text(runtime, d, t, language))


def ask_text(runtime: Runtime, conn: Conn, d: Disclosure, step: str, t: Translate,
             language: str) -> str:
    text = full_text(runtime, d, t, language)
    if step == "review":
        return t("📝 A disclosure awaits your review (审定). Approve it, or return it with a "
                 "comment.\n\n{text}").format(text=text)
    return t("✍️ A reviewed disclosure awaits your signature (审签). Signing publishes "
             "it.\n\n{text}").format(text=text)


def ask_buttons(d: Disclosure, step: str) -> notify.RenderButtons:
    if step == "review":
        return lambda t: [[(t("✅ Approve"), f"dr:ok:{d.id}"),
                           (t("↩️ Return"), f"dr:back:{d.id}")]]
    return lambda t: [[(t("✍️ Sign and publish"), f"ds:ok:{d.id}"),
                       (t("↩️ Return"), f"ds:back:{d.id}")]]


def returned_text(d: Disclosure, role: str, comment: str, t: Translate) -> str:
    who = t("the committee") if role == "committee" else t("the head")
    return t("↩️ The draft “{title}” was returned by {who}:\n{comment}\n\nEdit it and submit "
             "it again.").format(title=d.title, who=who, comment=comment)


def published_text(runtime: Runtime, conn: Conn, d: Disclosure, t: Translate,
                   language: str) -> str:
    forms = repo.forms_of(conn, d.id)
    todo = [t(FORM_NAMES[f.form]) for f in forms if f.confirmed_at is None]
    if todo:
        return t("📢 Published as {number}: {title}.\nStill to confirm: {forms}.").format(
            number=d.number, title=d.title, forms=", ".join(todo))
    return t("📢 Published as {number}: {title}.").format(number=d.number, title=d.title)


def form_buttons(conn: Conn, d: Disclosure) -> notify.RenderButtons:
    labels = {"notice_board": N_("📌 Notice board posted (send a photo)"),
              "meeting": N_("🗓 Meeting held (date)"),
              "document": N_("📄 Document issued (number)")}
    wanted = [f for f in ("notice_board", "meeting", "document") if f in d.forms]
    return lambda t: [[(t(labels[f]), f"df:{f}:{d.id}")] for f in wanted]


def no_chat_text(runtime: Runtime, d: Disclosure, t: Translate, language: str) -> str:
    field = "public_channel_id" if d.audience == "public" else "party_chat_id"
    return t("⚠️ {number} must be posted in a channel, but {unit} has no {field} in the "
             "configuration. Add it, then press Post again on this disclosure.").format(
        number=d.number, unit=notify.unit_name(runtime, d.unit_id, language), field=field)


def post_failed_text(runtime: Runtime, d: Disclosure, chat_id: int, reason: str,
                     t: Translate, language: str) -> str:
    return t("⚠️ {number} could not be posted in chat {chat}: {why}. It stays at step 4 "
             "(公开) until it is posted; nothing is lost. Fix it, then press Post again."
             ).format(number=d.number, chat=chat_id, why=t(POST_FAILURES.get(reason,
                                                                         POST_FAILURES["other"])))


def new_version_text(runtime: Runtime, d: Disclosure, t: Translate, language: str) -> str:
    return t("📢 The disclosure you gave an opinion on was published again, corrected, as "
             "{number} (version {version}).").format(number=d.number, version=d.version)


def poster_path(runtime: Runtime, d: Disclosure) -> Path:
    folder = runtime.config.storage.files_dir(runtime.database_path) / "posters"
    return folder / f"{d.number}.pdf"


def owe_poster(conn: Conn, runtime: Runtime, d: Disclosure,
               recipients: list[notify.Recipient], now: datetime) -> None:
    """The notice-board poster (A4 PDF), written now and owed to the clerk or the head."""
    path = poster_path(runtime, d)
    path.parent.mkdir(parents=True, exist_ok=True)
    language = runtime.config.general.default_language
    t = translator(language)
    sections = [(t(SECTION_NAMES[k]), d.sections[k]) for k in MAJOR_SECTIONS
                if d.sections.get(k)]
    if d.sections.get(RESPONSES):
        sections.append((t("How the opinions on the draft were taken up (意见采纳情况)"),
                         d.sections[RESPONSES]))
    assert d.published_at is not None and d.number is not None
    path.write_bytes(poster.poster_pdf(poster.Poster(
        unit_name=notify.unit_name(runtime, d.unit_id, language), number=d.number,
        title=d.title, item_name=item_name(runtime, d, language),
        aspect_name=aspect_name(runtime, d.aspect, t, language), body=d.body,
        sections=sections, published_at=d.published_at.astimezone(runtime.config.general.tz),
        version=d.version, corrects=None,
        opinion_hint=t("Give your opinion in Sunbox: /start op_{id}").format(id=d.id),
        language=language)))
    for recipient in recipients:
        rt = translator(recipient.language)
        outbox.enqueue(conn, now, recipient.chat_id, "file", {
            "kind": "document", "path": str(path), "filename": path.name,
            "caption": rt("📌 Print this poster of {number} for the notice board, post it, "
                          "then press “Notice board posted” and send a photo.").format(
                number=d.number)})
    notify.send(conn, runtime, recipients, lambda t, lang: t(
        "Once the poster of {number} is up on the notice board, confirm it here with a "
        "photo.").format(number=d.number),
        buttons=lambda t: [[(t("📌 Notice board posted (send a photo)"),
                             f"df:notice_board:{d.id}")]], now=now)
