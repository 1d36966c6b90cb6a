"""Attachments of anonymous cases leave without what could identify the reporter.

A photo carries EXIF (the GPS position where it was taken, the camera, the time); a
document carries its file name (seen: ``王秀兰_低保申请表.jpg``) and its own metadata. An
anonymous case's files therefore never go to an official as the reporter sent them, and
their original file ids are never reused (copying by file id would send the original):

1. **At filing** (``bot.services.cases.file_case``, in the filing's transaction) the files of
   an anonymous case are *held* in ``scrub_pending`` instead of becoming its attachments,
   and the case's cards are not owed yet. The original file ids live only there.
2. **After the commit**, never inside a transaction, ``bot.scrubber`` takes each held file:
   ``getFile`` and download; an image (a photo, or a document Pillow can read) is decoded
   and encoded again as a fresh JPEG (:func:`clean_image`: no EXIF, GPS, camera, XMP, ICC
   or comments; the orientation applied to the pixels), and one it cannot decode is
   dropped; any other document keeps its content and its own metadata (the reporter was
   warned at upload that its name and content may identify them, and chose to keep it).
   Every file is renamed after the case number (:func:`file_name`:
   ``S-2026-00042-1.jpg``) and uploaded **once**. The upload goes to
   the chat the case was just filed from, captioned so that the reporter sees what goes
   on: it is reachable at that moment, whoever is (or is not yet) in the unit, and the
   officials' cards all stay alike. That chat is known only to the filing handler and is
   not stored. When it is not at hand (a retry after a crash or an error) the upload goes
   to the first of the case's card recipients that takes it (the unit's group, else its
   members in turn; then the supervision unit), whose card then does not carry the same
   files again. No storage chat: one holding every anonymous file of the county would be
   one more place to guard. Each upload is recorded as soon as it exists.
3. **When every file is uploaded**, one transaction (:func:`finish`) puts the uploads in
   ``attachments``, deletes the held rows and owes the cards with the new file ids. From
   then on every card and copy (transfers, ``/case``) reuses the new file ids.

It survives a crash: the held rows are the durable pending state. The filing handler
scrubs right after the commit; a job every minute (``handlers.jobs``) takes whatever a
crash or an error left, so the cards wait until the scrubbed files exist. A crash between
an upload and its record uploads that file once more. A file that cannot be downloaded or
decoded, or that still fails after :data:`MAX_ATTEMPTS` tries, is dropped (logged, never
forwarded), and the cards go with the rest. A unit with nobody to receive the files (after
a crash) waits for someone without spending the tries.

A file the reporter adds later to an anonymous case (a follow-up, a reply to a question)
is scrubbed and renamed the same way by the handler before the service stores it
(``Scrubber.added``): the case number exists then, the upload goes to the reporter's chat,
and no pending state is needed (a crash before the commit brings the update again).

No Telegram types here: ``bot.scrubber`` does the downloads and uploads.
"""

from __future__ import annotations

import io
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, ImageOps

from bot.runtime import Runtime
from bot.services import notify
from storage import cases as case_repo
from storage import scrub as scrub_repo
from storage.models import Case, NewAttachment
from storage.scrub import PendingFile
from storage.sql import Conn

MAX_ATTEMPTS = 8
# The largest picture decoded (pixels): a photo from a phone has 12 to 50 million; more is
# a decompression bomb, not evidence.
MAX_PIXELS = 80_000_000
JPEG_QUALITY = 85
_IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"}
_SHORT_NUMBER = re.compile(r"[A-Z]+-\d{4}-\d+")
_EXTENSION = re.compile(r"[a-z0-9]{1,8}")


@dataclass(frozen=True)
class Prepared:
    """A file ready to upload: what it is sent as, its bytes and its new name."""

    kind: str  # photo | document
    data: bytes
    name: str


def is_held(anonymous: bool, attachments: Sequence[NewAttachment]) -> bool:
    """Whether a case's files must be scrubbed before its cards go."""
    return anonymous and bool(attachments)


def hold(conn: Conn, case: Case,
         attachments: Sequence[NewAttachment]) -> None:
    """Keep an anonymous case's files until they are scrubbed (in the filing's transaction);
    its cards are owed by :func:`finish`."""
    scrub_repo.hold(conn, case.id, attachments)


# ----------------------------------------------------------------------------- the files

def clean_image(data: bytes) -> bytes | None:
    """The picture in ``data`` as a fresh JPEG without any metadata; None if it is not a
    picture Pillow can read (or is too large to be one). Any error while decoding or
    encoding counts as "cannot be scrubbed": a crafted file makes Pillow raise more than
    its documented errors (``struct.error``, ``IndexError``...), and such a file is dropped,
    never forwarded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return None
            image.load()
            upright = ImageOps.exif_transpose(image)
            if upright.mode in ("RGBA", "LA", "P", "PA"):
                rgba = upright.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                upright = flat
            elif upright.mode != "RGB":
                upright = upright.convert("RGB")
            # A new image of the pixels only: nothing of the original's info travels along.
            fresh = Image.frombytes("RGB", upright.size, upright.tobytes())
        out = io.BytesIO()
        fresh.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    except Exception:  # noqa: BLE001 - whatever a crafted file provokes: not a picture
        return None
    return out.getvalue()


def looks_like_image(kind: str, name: str | None, mime: str | None) -> bool:
    """A photo, or a document that says it is a picture (by type or name)."""
    if kind == "photo" or (mime or "").lower().startswith("image/"):
        return True
    return _extension(name) in _IMAGE_EXTENSIONS


def short_number(number: str) -> str:
    """The case number without a check part (``S-2026-00042`` of ``S-2026-00042-K7P``)."""
    found = _SHORT_NUMBER.match(number)
    return found.group(0) if found else number


def file_name(number: str, seq: int, *, image: bool, name: str | None = None,
              mime: str | None = None) -> str:
    """The name a file goes on with: the case number, its place, the type's extension."""
    base = f"{short_number(number)}-{seq}"
    if image:
        return f"{base}.jpg"
    extension = _extension(name)
    if not extension and mime:
        guessed = mimetypes.guess_extension(mime.split(";")[0].strip().lower()) or ""
        extension = _extension(guessed)
    return f"{base}.{extension}" if extension else base


def _extension(name: str | None) -> str:
    if not name or "." not in name:
        return ""
    extension = name.rsplit(".", 1)[1].lower()
    return extension if _EXTENSION.fullmatch(extension) else ""


def prepare(held: NewAttachment, seq: int, data: bytes, number: str) -> Prepared | None:
    """A file made safe to send: pictures re-encoded, everything renamed (``seq``: its place
    among the case's files); None if a picture cannot be decoded (it is dropped)."""
    if looks_like_image(held.kind, held.file_name, held.mime_type):
        # A picture Pillow cannot read (HEIC, say) may carry its metadata: it is dropped.
        cleaned = clean_image(data)
        if cleaned is None:
            return None
        return Prepared(held.kind, cleaned, file_name(number, seq, image=True))
    # A document kept after the warning: its content as sent, under a new name.
    return Prepared("document", data, file_name(number, seq, image=False,
                                                name=held.file_name, mime=held.mime_type))


# ----------------------------------------------------------------------------- the state

async def due(runtime: Runtime) -> list[int]:
    """Cases whose held files may be scrubbed now."""
    return await runtime.db.read(scrub_repo.due_cases, runtime.clock.now())


async def held_files(runtime: Runtime, case_id: int) -> tuple[Case | None, list[PendingFile]]:
    """A case and its files still held (none once it is done)."""
    def work(conn: Conn) -> tuple[Case | None, list[PendingFile]]:
        return (case_repo.get_case(conn, case_id),
                scrub_repo.files_of(conn, case_id))
    return await runtime.db.read(work)


async def files_so_far(runtime: Runtime, case_id: int) -> tuple[Case | None, int]:
    """A case and how many files it has (stored or held): a file added later is named
    after the next place."""
    def work(conn: Conn) -> tuple[Case | None, int]:
        case = case_repo.get_case(conn, case_id)
        return case, scrub_repo.count_files(conn, case_id)
    return await runtime.db.read(work)


async def upload_chats(runtime: Runtime, case: Case) -> list[int]:
    """Where the uploads may go, in order: the case's card recipients, then supervision."""
    def work(conn: Conn) -> list[int]:
        chats = [r.chat_id for r in notify.unit_recipients(conn, runtime, case.unit_id)]
        chats += [r.chat_id for r in notify.supervision_recipients(conn, runtime)]
        return chats
    chats = await runtime.db.read(work)
    return list(dict.fromkeys(chats))


async def record_upload(runtime: Runtime, held: PendingFile, upload: NewAttachment,
                        chat_id: int | None) -> None:
    """The scrubbed copy of ``held`` exists (in ``chat_id``, a card recipient's chat; None:
    the reporter's, which is not kept)."""
    await runtime.db.write(scrub_repo.record_upload, held.id, upload, chat_id)


async def record_dropped(runtime: Runtime, held: PendingFile) -> None:
    """``held`` cannot be scrubbed: it will not go on."""
    await runtime.db.write(scrub_repo.record_dropped, held.id)


async def retry_later(runtime: Runtime, case_id: int, seconds: float | None = None, *,
                      counted: bool = True) -> bool:
    """A try failed (``counted``) or could not be made; True when the case has had its
    tries and must go on without the files not scrubbed yet."""
    now = runtime.clock.now()

    def body(conn: Conn) -> int:
        files = scrub_repo.files_of(conn, case_id)
        tries = max((f.attempts for f in files), default=0) + 1
        wait = seconds if seconds is not None else min(60.0 * 2 ** (tries - 1), 3600.0)
        return scrub_repo.retry_later(
            conn, case_id, now + timedelta(seconds=wait), counted=counted)

    attempts = await runtime.db.write(body)
    return attempts >= MAX_ATTEMPTS


async def finish(runtime: Runtime, case_id: int) -> int:
    """The scrubbed copies become the case's attachments, and its cards are owed with them
    (one transaction). Returns how many files went on; 0 if the case was done already."""
    now = runtime.clock.now()

    def body(conn: Conn) -> int:
        files = scrub_repo.files_of(conn, case_id)
        case = case_repo.get_case(conn, case_id)
        if not files or case is None:
            return 0
        kept = scrub_repo.finish(conn, case_id, now)
        notify.send_cards(conn, runtime, case, kept, now=now)
        by_chat: dict[int, list[str]] = {}
        for held in files:
            if held.uploaded and held.uploaded_to is not None:
                assert held.new_file_id is not None
                by_chat.setdefault(held.uploaded_to, []).append(held.new_file_id)
        for chat_id, file_ids in by_chat.items():
            scrub_repo.drop_from_cards(conn, case_id, chat_id, file_ids)
        return len(kept)

    return await runtime.db.write(body)
