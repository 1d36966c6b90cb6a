"""The schema versions from the seventh on, each named for the change it makes
(``storage.migrations`` applies them in order after :mod:`storage.migrations.v1_to_v6`)."""

V_CHAT_MIGRATED = """
-- A group upgraded to a supergroup gets a new chat id (Telegram answers the old one with
-- ``migrate_to_chat_id``). The outbox sender records the move here and in units.group_chat_id;
-- the configuration still names the old id until an administrator edits it, and the start-up
-- sync of units reads the move from here instead of putting the old id back.
CREATE TABLE chat_migrations (
    old_chat_id INTEGER PRIMARY KEY,
    new_chat_id INTEGER NOT NULL,
    migrated_at TEXT NOT NULL
);
"""

V_AT_REST = """
-- What people wrote into a case's trail (questions, replies, follow-ups, comments, reasons)
-- is kept apart from the append-only events, by event id, so it can be redacted (retention,
-- erasure) while the events stay as they were. ``texts`` is a JSON object of the event's
-- payload keys that hold such text (storage.cases.TEXT_KEYS); redaction sets it to NULL and
-- ``redacted_at``, and is the only change the table allows. Each redaction is also an event of
-- its own (type 'redacted').
CREATE TABLE case_event_texts (
    event_id      INTEGER PRIMARY KEY REFERENCES case_events(id),
    texts         TEXT,
    redacted_at   TEXT,
    CHECK ((texts IS NULL) = (redacted_at IS NOT NULL))
);
CREATE TRIGGER case_event_texts_redact_only BEFORE UPDATE ON case_event_texts
WHEN NOT (NEW.event_id = OLD.event_id AND OLD.redacted_at IS NULL
          AND NEW.texts IS NULL AND NEW.redacted_at IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'case_event_texts may only be redacted'); END;
CREATE TRIGGER case_event_texts_no_delete BEFORE DELETE ON case_event_texts
BEGIN SELECT RAISE(ABORT, 'case_event_texts may only be redacted'); END;
-- The texts already in the trail move out of it: the one time events are changed, with the
-- trigger that refuses it lifted for this transaction only.
INSERT INTO case_event_texts (event_id, texts)
SELECT e.id, (SELECT json_group_object(j.key, j.value) FROM json_each(e.payload) j
              WHERE j.key IN ('text', 'comment')
                 OR (j.key = 'reason'
                     AND e.type IN ('transferred', 'escalated', 'extension_requested')))
FROM case_events e
WHERE json_valid(e.payload) AND EXISTS (
    SELECT 1 FROM json_each(e.payload) j
    WHERE j.key IN ('text', 'comment')
       OR (j.key = 'reason' AND e.type IN ('transferred', 'escalated', 'extension_requested')));
DROP TRIGGER case_events_no_update;
UPDATE case_events SET payload = json_remove(
    payload, '$.text', '$.comment',
    CASE WHEN type IN ('transferred', 'escalated', 'extension_requested') THEN '$.reason'
         ELSE '$.text' END)
WHERE id IN (SELECT event_id FROM case_event_texts);
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;
-- A handled update keeps no payload (storage.updates.mark_processed empties it in the
-- transaction that records it handled); the ones handled before this version are emptied now.
UPDATE inbox_updates SET payload = '',
    handled_at = coalesce(handled_at,
                          (SELECT p.at FROM processed_updates p
                           WHERE p.update_id = inbox_updates.update_id))
WHERE handled_at IS NOT NULL
   OR update_id IN (SELECT update_id FROM processed_updates);
"""

V_LIFECYCLE = """
-- When the retention job redacted the case's personal data (reporter, texts, files, delivery
-- address); NULL until then. The facts assessments need stay. The partial index holds only
-- the cases not redacted yet, so the daily job does not read the redacted ones again.
ALTER TABLE cases ADD COLUMN redacted_at TEXT;
CREATE INDEX cases_unredacted ON cases(state, closed_at) WHERE redacted_at IS NULL;
"""

V_LIMITS = """
UPDATE cases SET number = number || '-'
    || substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', (random() & 31) + 1, 1)
    || substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', (random() & 31) + 1, 1)
    || substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', (random() & 31) + 1, 1);

CREATE TABLE invites_hashed (
    id            INTEGER PRIMARY KEY,
    code_hash     TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    unit_id       TEXT NOT NULL REFERENCES units(id),
    created_by    INTEGER REFERENCES people(id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    used_by       INTEGER REFERENCES people(id),
    used_at       TEXT,
    cancelled_at  TEXT
);
INSERT INTO invites_hashed (code_hash, role, unit_id, created_by, created_at, expires_at,
                            used_by, used_at)
SELECT sunbox_sha256(code), role, unit_id, created_by, created_at, expires_at, used_by, used_at
FROM invites ORDER BY created_at, rowid;
DROP TABLE invites;
ALTER TABLE invites_hashed RENAME TO invites;
"""

V_SEAL = """
-- Facts about the database itself; ``seal_fingerprint``: the fingerprint of the key that
-- sealed it (bot/seal.py), so an instance with another key refuses to start.
CREATE TABLE meta (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL
);
-- The delivery chat of an anonymous case, encrypted with a key kept outside the database
-- (randomised: the same chat sealed twice gives unrelated bytes). ``delivery_chat_id`` stays
-- for named cases only; the start-up seals what older versions left there in plain text
-- (storage/sealing.py). No index of the chat may exist, not even of a hash.
ALTER TABLE cases ADD COLUMN delivery_sealed BLOB;
DROP INDEX cases_delivery;
-- A person's anonymous cases, as a sealed list (/my, follow-ups, withdrawing, erasing).
ALTER TABLE people ADD COLUMN sealed_cases BLOB;
-- People keep dates to the day: no moment of theirs matches a case's.
UPDATE people SET created_at = substr(created_at, 1, 10),
                  blocked_at = substr(blocked_at, 1, 10);
-- The outbox is rebuilt so that ``chat_id`` may be NULL: a row of an anonymous case (and a
-- receipt marked ``forget``) drops its chat and its text once sent or given up.
CREATE TABLE outbox_sealed (
    id            INTEGER PRIMARY KEY,
    created_at    TEXT NOT NULL,
    chat_id       INTEGER,
    kind          TEXT NOT NULL CHECK (kind IN ('message', 'card', 'edit_card', 'file')),
    case_id       INTEGER REFERENCES cases(id),
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    sent_at       TEXT,
    error         TEXT,
    resent        INTEGER NOT NULL DEFAULT 0,
    not_before    TEXT,
    forget        INTEGER NOT NULL DEFAULT 0,
    CHECK (chat_id IS NOT NULL OR status IN ('sent', 'failed'))
);
INSERT INTO outbox_sealed (id, created_at, chat_id, kind, case_id, payload, status, attempts,
                           sent_at, error, resent, not_before, forget)
SELECT id, created_at, chat_id, kind, case_id, payload, status, attempts, sent_at, error,
       resent, not_before,
       coalesce(json_valid(payload) AND json_extract(payload, '$.forget'), 0)
       OR EXISTS (SELECT 1 FROM cases c WHERE c.id = outbox.case_id AND c.anonymous = 1)
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_sealed RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox(status, id);
CREATE INDEX outbox_chat ON outbox(chat_id, status, id);
-- Receipts of anonymous cases were written without a case id, stamped a moment after the
-- case (not always the same second): which private message was one cannot be told apart
-- reliably, so every private message without a case forgets its chat and text once done.
-- Nothing reads a delivered message again.
UPDATE outbox SET forget = 1 WHERE case_id IS NULL AND kind = 'message' AND chat_id > 0;
UPDATE outbox SET chat_id = NULL, payload = '{}' WHERE forget = 1 AND status IN ('sent', 'failed');
"""


V_SCRUB = """
-- Attachments of anonymous cases on their way to being scrubbed (bot/services/scrub.py):
-- the file ids the reporter's files came with live only here, never in attachments, until
-- a copy without metadata, named after the case number, has been uploaded; then the row
-- goes and the copy joins attachments, in the transaction that owes the case's cards.
-- seq numbers the files of a case (S-2026-00042-1.jpg); new_* is the upload, recorded as
-- soon as it exists so that a crash does not upload it again; uploaded_to is the chat the
-- upload went to (its card does not carry the same files again).
CREATE TABLE scrub_pending (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    seq            INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('photo', 'document')),
    file_id        TEXT NOT NULL,
    file_unique_id TEXT NOT NULL,
    file_name      TEXT,
    mime_type      TEXT,
    new_kind       TEXT,
    new_file_id    TEXT,
    new_unique_id  TEXT,
    new_name       TEXT,
    uploaded_to    INTEGER,
    attempts       INTEGER NOT NULL DEFAULT 0,
    not_before     TEXT,
    UNIQUE (case_id, seq)
);
"""

V_CALENDAR = """
-- Deadlines counted on Monday to Friday in a year the official calendar did not cover
-- ([calendar] unknown_years = "flag", bot/services/deadlines.py): marked for review until
-- the year is covered, then recomputed: days working days after set_at (when the deadline
-- was set), as they were counted then. year is the first uncovered year the count went
-- through.
CREATE TABLE calendar_flags (
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    deadline      TEXT NOT NULL CHECK (deadline IN ('accept', 'answer')),
    due           TEXT NOT NULL,
    set_at        TEXT NOT NULL,
    days          INTEGER NOT NULL,
    year          INTEGER NOT NULL,
    PRIMARY KEY (case_id, deadline)
);
"""

# The command menu last set for a person's own chat (BotCommandScopeChat), as
# "<language>:<command>,<command>,..."; NULL when none is set (residents keep the default).
V_MENUS = """
ALTER TABLE people ADD COLUMN menu TEXT;
"""

V_FILES = """
-- The local file store (storage/files.py): each attachment of a case or an answer, and each
-- meeting's minutes, downloaded once and kept under the SHA-256 of its bytes. Keyed by
-- Telegram's file_unique_id, which is the same for every bot token and never expires (the
-- file_id does both). sha256 is NULL while the download has not succeeded: attempts counts
-- the failed tries, and not_before is the next one. meetings.minutes_file_unique_id is
-- learnt from getFile when the minutes are downloaded ('-': Telegram refused the file id).
CREATE TABLE stored_files (
    file_unique_id TEXT PRIMARY KEY,
    sha256         TEXT,
    size           INTEGER,
    stored_at      TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    not_before     TEXT
);
CREATE INDEX stored_files_sha256 ON stored_files(sha256);
ALTER TABLE meetings ADD COLUMN minutes_file_unique_id TEXT;
"""

V_FLOW_STATES = """
-- The dialog's conversation states are namespaced strings (handlers/flow.py: "filing.text",
-- "official.answer.preview") instead of hand-numbered integers (filing 0-9, the follow-up
-- 100, the official's steps 200-210, the reporter's 300 and 310, intake 400-406, meetings
-- 500-509). Each stored integer becomes the name of the same step, as JSON like every
-- state; an integer no step had ends its conversation (as a state no flow handles would).
UPDATE conversations SET state = CASE json_extract(state, '$')
        WHEN 0 THEN '"filing.kind"'
        WHEN 1 THEN '"filing.category"'
        WHEN 2 THEN '"filing.unit"'
        WHEN 3 THEN '"filing.text"'
        WHEN 4 THEN '"filing.attachments"'
        WHEN 5 THEN '"filing.identity"'
        WHEN 6 THEN '"filing.name"'
        WHEN 7 THEN '"filing.phone"'
        WHEN 8 THEN '"filing.confirm"'
        WHEN 9 THEN '"filing.concerns"'
        WHEN 100 THEN '"followup.message"'
        WHEN 200 THEN '"official.answer.outcome"'
        WHEN 201 THEN '"official.answer.redirect"'
        WHEN 202 THEN '"official.answer.text"'
        WHEN 203 THEN '"official.answer.files"'
        WHEN 204 THEN '"official.answer.preview"'
        WHEN 205 THEN '"official.transfer.unit"'
        WHEN 206 THEN '"official.transfer.reason"'
        WHEN 207 THEN '"official.ask.text"'
        WHEN 208 THEN '"official.return.comment"'
        WHEN 209 THEN '"official.extend.reason"'
        WHEN 210 THEN '"official.extend.date"'
        WHEN 300 THEN '"reporter.reply"'
        WHEN 310 THEN '"reporter.rating_comment"'
        WHEN 400 THEN '"intake.channel"'
        WHEN 401 THEN '"intake.kind"'
        WHEN 402 THEN '"intake.category"'
        WHEN 403 THEN '"intake.text"'
        WHEN 404 THEN '"intake.contact"'
        WHEN 405 THEN '"intake.concerns"'
        WHEN 406 THEN '"intake.confirm"'
        WHEN 500 THEN '"meetings.absence.reason"'
        WHEN 501 THEN '"meetings.attendance"'
        WHEN 502 THEN '"meetings.minutes"'
        WHEN 503 THEN '"meetings.issues"'
        WHEN 504 THEN '"meetings.issue.who"'
        WHEN 505 THEN '"meetings.issue.category"'
        WHEN 506 THEN '"meetings.issue.text"'
        WHEN 507 THEN '"meetings.finding.category"'
        WHEN 508 THEN '"meetings.finding.text"'
        WHEN 509 THEN '"meetings.finding.confirm"'
        ELSE state END
WHERE name = 'dialog' AND json_valid(state) AND json_type(state) = 'integer';
DELETE FROM conversations
WHERE name = 'dialog' AND json_valid(state) AND json_type(state) = 'integer';
"""

V_LEASES = """
-- Leases held in the database (storage/leases.py): several Sunbox instances on one
-- PostgreSQL database agree which of them does the work that must be done once (the outbox
-- sender's rounds, the alarms, the scheduled jobs: bot/services/leadership.py). A lease is
-- held by ``holder`` (host:pid:random) until ``until`` (ISO UTC text, like every time), and
-- renewed before then; once it has passed, another instance may take it. A single instance
-- (SQLite, or PostgreSQL polling) leads without one, so the table stays empty there.
CREATE TABLE leases (
    name          TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    until         TEXT NOT NULL
);
"""

V_SHARED_WORK = """
-- Several instances on one database share the work.
-- Whose each stored update is (its sender, else its chat; 0 for neither), so that one
-- person's updates are handled one at a time and in update_id order, whichever instance
-- received them (bot/telegram/turns.py, storage/turns.py). The index finds a person's
-- waiting updates, and the people with any. It is forgotten (NULL) with the payload once
-- the update is handled: with the times kept, it would tie a person to an anonymous case
-- filed then. Updates kept before this version and not yet handled share person 0:
-- handled in update_id order, one lane.
ALTER TABLE inbox_updates ADD COLUMN person_key INTEGER;
UPDATE inbox_updates SET person_key = 0 WHERE handled_at IS NULL;
CREATE INDEX inbox_waiting ON inbox_updates(person_key, update_id) WHERE handled_at IS NULL;
-- Which instance marked an outbox row 'sending' (its lease holder name), so that the leader
-- sends again only the rows of instances that died, never one a live instance is sending
-- (storage/outbox.py recover_orphans). NULL: claimed before this version, or by a single
-- instance.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
"""

V_DISCLOSURES = """
-- The disclosure register (党务公开, storage/disclosures.py).
-- What a unit owes: one row per catalog item and period (regular), stage of a matter, or
-- recorded event (temporary). met_at: when every form the item requires was confirmed for
-- the disclosure that meets it. The three *_at columns are the alarm ladder's rungs, as a
-- case's alarms are: reminder to the unit, breach to its head, escalation to supervision.
CREATE TABLE disclosure_obligations (
    id             INTEGER PRIMARY KEY,
    item_id        TEXT NOT NULL,
    unit_id        TEXT NOT NULL REFERENCES units(id),
    period_key     TEXT NOT NULL,
    title          TEXT,
    due_at         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    disclosure_id  INTEGER,
    met_at         TEXT,
    reminded_at    TEXT,
    breached_at    TEXT,
    escalated_at   TEXT,
    UNIQUE (item_id, unit_id, period_key)
);
CREATE INDEX disclosure_obligations_open ON disclosure_obligations(due_at) WHERE met_at IS NULL;
-- A staged matter a unit opened, or an event it recorded (the temporary schedule): the
-- obligations they make point back here through period_key.
CREATE TABLE disclosure_matters (
    id             INTEGER PRIMARY KEY,
    item_id        TEXT NOT NULL,
    unit_id        TEXT NOT NULL REFERENCES units(id),
    kind           TEXT NOT NULL CHECK (kind IN ('staged', 'temporary')),
    title          TEXT NOT NULL,
    opened_by      INTEGER REFERENCES people(id),
    opened_at      TEXT NOT NULL
);
-- One disclosure, from draft to register. stage: draft | review | signoff | published |
-- withdrawn. Once number is set (at sign-off) the row is the published version: the
-- trigger below refuses every change and deletion. version and previous_id link a
-- correction (or a pre-disclosure's final version) to the one before; pre = 1 marks a
-- pre-disclosure (published for comment until comment_until).
CREATE TABLE disclosures (
    id             INTEGER PRIMARY KEY,
    number         TEXT UNIQUE,
    item_id        TEXT NOT NULL,
    unit_id        TEXT NOT NULL REFERENCES units(id),
    obligation_id  INTEGER REFERENCES disclosure_obligations(id),
    audience       TEXT NOT NULL CHECK (audience IN ('party', 'public')),
    aspect         TEXT NOT NULL,
    forms          TEXT NOT NULL,
    stage          TEXT NOT NULL,
    pre            INTEGER NOT NULL DEFAULT 0,
    version        INTEGER NOT NULL DEFAULT 1,
    previous_id    INTEGER REFERENCES disclosures(id),
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,
    sections       TEXT NOT NULL DEFAULT '{}',
    drafted_by     INTEGER REFERENCES people(id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    published_at   TEXT,
    content_hash   TEXT,
    comment_until  TEXT,
    CHECK ((number IS NULL) = (published_at IS NULL))
);
CREATE INDEX disclosures_unit ON disclosures(unit_id, published_at);
-- The register newest first, and search (storage/text_search.py), read in this order
-- (published_at, then id: the rowid every index ends with).
CREATE INDEX disclosures_published ON disclosures(published_at) WHERE number IS NOT NULL;
CREATE INDEX disclosures_previous ON disclosures(previous_id);
CREATE TRIGGER disclosures_published_no_update BEFORE UPDATE ON disclosures
WHEN OLD.number IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a published disclosure is immutable'); END;
CREATE TRIGGER disclosures_published_no_delete BEFORE DELETE ON disclosures
WHEN OLD.number IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a published disclosure is immutable'); END;
-- Its photos and documents, copied (never forwarded) from Telegram and kept in the local
-- file store (stored_files); frozen with the disclosure once it is published.
CREATE TABLE disclosure_files (
    disclosure_id  INTEGER NOT NULL REFERENCES disclosures(id),
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    file_id        TEXT NOT NULL,
    file_unique_id TEXT,
    file_name      TEXT,
    PRIMARY KEY (disclosure_id, position)
);
CREATE TRIGGER disclosure_files_frozen_insert BEFORE INSERT ON disclosure_files
WHEN (SELECT number FROM disclosures WHERE id = NEW.disclosure_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a published disclosure is immutable'); END;
CREATE TRIGGER disclosure_files_frozen_update BEFORE UPDATE ON disclosure_files
WHEN (SELECT number FROM disclosures WHERE id = OLD.disclosure_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a published disclosure is immutable'); END;
CREATE TRIGGER disclosure_files_frozen_delete BEFORE DELETE ON disclosure_files
WHEN (SELECT number FROM disclosures WHERE id = OLD.disclosure_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a published disclosure is immutable'); END;
-- The trail of the seven steps: who (person and role) did what, when. Append-only.
CREATE TABLE disclosure_events (
    id             INTEGER PRIMARY KEY,
    disclosure_id  INTEGER NOT NULL REFERENCES disclosures(id),
    type           TEXT NOT NULL,
    person_id      INTEGER REFERENCES people(id),
    role           TEXT,
    at             TEXT NOT NULL,
    payload        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX disclosure_events_of ON disclosure_events(disclosure_id, id);
CREATE TRIGGER disclosure_events_no_update BEFORE UPDATE ON disclosure_events
BEGIN SELECT RAISE(ABORT, 'disclosure_events is append-only'); END;
CREATE TRIGGER disclosure_events_no_delete BEFORE DELETE ON disclosure_events
BEGIN SELECT RAISE(ABORT, 'disclosure_events is append-only'); END;
-- The forms of publication, each confirmed once: the channel and party group when the bot's
-- posts went out, the notice board with a photo of the poster, a meeting with its date, a
-- document with its number, the web register on publishing.
CREATE TABLE disclosure_forms (
    disclosure_id  INTEGER NOT NULL REFERENCES disclosures(id),
    form           TEXT NOT NULL,
    confirmed_at   TEXT,
    confirmed_by   INTEGER REFERENCES people(id),
    detail         TEXT,
    PRIMARY KEY (disclosure_id, form)
);
-- The bot's posts of a published disclosure in a channel or group: message ids (JSON list,
-- the first carries the opinion button), the last error while it could not post, and the
-- opinion count the button last showed.
CREATE TABLE disclosure_posts (
    disclosure_id  INTEGER NOT NULL REFERENCES disclosures(id),
    chat_id        INTEGER NOT NULL,
    message_ids    TEXT,
    error          TEXT,
    opinions_shown INTEGER NOT NULL DEFAULT 0,
    edited_at      TEXT,
    PRIMARY KEY (disclosure_id, chat_id)
);
-- An opinion on a disclosure is a case (routed to the publishing unit); this links them,
-- and keeps the unit's ruling on it at a pre-disclosure: adopted | partly | not_adopted.
CREATE TABLE disclosure_opinions (
    case_id        INTEGER PRIMARY KEY REFERENCES cases(id),
    disclosure_id  INTEGER NOT NULL REFERENCES disclosures(id),
    adoption       TEXT CHECK (adoption IN ('adopted', 'partly', 'not_adopted')),
    reason         TEXT,
    marked_by      INTEGER REFERENCES people(id),
    marked_at      TEXT
);
CREATE INDEX disclosure_opinions_of ON disclosure_opinions(disclosure_id);
-- Sunbox's Chinese text search (storage/text_search.py): each published disclosure's text as
-- space-separated character bigrams, rowid = disclosures.id; contentless, as the text is in
-- disclosures already.
CREATE VIRTUAL TABLE disclosure_grams USING fts5(grams, content='',
                                                 tokenize='unicode61 remove_diacritics 0');
-- Broadcasts (a party item sent privately to every party member) go at a lower priority
-- than interactive messages: the outbox sender keeps a share of its rate free for those.
ALTER TABLE outbox ADD COLUMN bulk INTEGER NOT NULL DEFAULT 0;
-- Each lane finds its pending rows without reading the other's (a broadcast may leave
-- thousands pending while receipts and cards come and go).
CREATE INDEX outbox_interactive ON outbox(id) WHERE status = 'pending' AND bulk = 0;
CREATE INDEX outbox_broadcast ON outbox(id) WHERE status = 'pending' AND bulk = 1;
CREATE TABLE disclosure_counters (
    year           INTEGER PRIMARY KEY,
    last_seq       INTEGER NOT NULL
);
"""
