"""The first six schema versions: the tables of people, units, cases and their trail,
the outbox and the deadlines (``storage.migrations`` applies them in order)."""

V1 = """
CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    telegram_id   INTEGER NOT NULL UNIQUE,
    language      TEXT,
    created_at    TEXT NOT NULL,
    blocked_at    TEXT
);

CREATE TABLE units (
    id            TEXT PRIMARY KEY,
    name_zh       TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    parent_id     TEXT REFERENCES units(id),
    supervision   INTEGER NOT NULL DEFAULT 0,
    sign_off      INTEGER NOT NULL DEFAULT 0,
    group_chat_id INTEGER,
    active        INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE categories (
    id            TEXT PRIMARY KEY,
    name_zh       TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    unit_id       TEXT NOT NULL REFERENCES units(id),
    active        INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE memberships (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES people(id),
    unit_id       TEXT NOT NULL REFERENCES units(id),
    role          TEXT NOT NULL,
    source        TEXT NOT NULL,
    granted_at    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE UNIQUE INDEX memberships_active ON memberships(person_id, unit_id, role)
    WHERE revoked_at IS NULL;

CREATE TABLE case_counters (
    kind          TEXT NOT NULL,
    year          INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL,
    PRIMARY KEY (kind, year)
);

-- An anonymous case holds no link to the person: reporter_person_id stays NULL and only
-- delivery_chat_id (where feedback goes, shown to nobody) may be set; with no feedback
-- wanted, neither is.
CREATE TABLE cases (
    id                 INTEGER PRIMARY KEY,
    number             TEXT NOT NULL UNIQUE,
    kind               TEXT NOT NULL CHECK (kind IN ('suggestion', 'report')),
    category_id        TEXT NOT NULL REFERENCES categories(id),
    unit_id            TEXT NOT NULL REFERENCES units(id),
    channel            TEXT NOT NULL DEFAULT 'chat',
    state              TEXT NOT NULL,
    anonymous          INTEGER NOT NULL DEFAULT 0,
    reporter_person_id INTEGER REFERENCES people(id),
    delivery_chat_id   INTEGER,
    reporter_name      TEXT,
    reporter_phone     TEXT,
    language           TEXT NOT NULL,
    text               TEXT NOT NULL,
    latitude           REAL,
    longitude          REAL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    accept_due         TEXT NOT NULL,
    answer_due         TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL UNIQUE,
    CHECK (anonymous = 0 OR reporter_person_id IS NULL),
    CHECK (kind = 'suggestion' OR (reporter_name IS NOT NULL AND reporter_phone IS NOT NULL))
);
CREATE INDEX cases_reporter ON cases(reporter_person_id);
CREATE INDEX cases_delivery ON cases(delivery_chat_id);
CREATE INDEX cases_unit_state ON cases(unit_id, state);

CREATE TABLE case_events (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    at             TEXT NOT NULL,
    actor_person_id INTEGER REFERENCES people(id),
    actor_role     TEXT NOT NULL,
    type           TEXT NOT NULL,
    state_before   TEXT,
    state_after    TEXT,
    payload        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events(case_id, id);
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;

CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    event_id       INTEGER REFERENCES case_events(id),
    kind           TEXT NOT NULL CHECK (kind IN ('photo', 'document')),
    file_id        TEXT NOT NULL,
    file_unique_id TEXT NOT NULL,
    file_name      TEXT,
    mime_type      TEXT,
    added_at       TEXT NOT NULL
);
CREATE INDEX attachments_case ON attachments(case_id);

CREATE TABLE conversations (
    name           TEXT NOT NULL,
    key            TEXT NOT NULL,
    state          TEXT NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE user_data (
    user_id        INTEGER PRIMARY KEY,
    data           TEXT NOT NULL
);

CREATE TABLE processed_updates (
    update_id      INTEGER PRIMARY KEY,
    at             TEXT NOT NULL
);
"""

V2 = """
ALTER TABLE people ADD COLUMN display_name TEXT;
ALTER TABLE people ADD COLUMN telegram_language TEXT;

-- A named report about a unit's own leadership goes to the supervision group; the unit it
-- concerns is kept for the record and never shown to that unit.
ALTER TABLE cases ADD COLUMN concerns_unit_id TEXT REFERENCES units(id);
ALTER TABLE cases ADD COLUMN transfers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN accepted_by INTEGER REFERENCES people(id);
ALTER TABLE cases ADD COLUMN accepted_at TEXT;
ALTER TABLE cases ADD COLUMN answered_at TEXT;
ALTER TABLE cases ADD COLUMN closed_at TEXT;
ALTER TABLE cases ADD COLUMN bind_code TEXT;
CREATE UNIQUE INDEX cases_bind_code ON cases(bind_code) WHERE bind_code IS NOT NULL;

-- One-time invites into a role: https://t.me/<bot>?start=<code>
CREATE TABLE invites (
    code          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    unit_id       TEXT NOT NULL REFERENCES units(id),
    created_by    INTEGER REFERENCES people(id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    used_by       INTEGER REFERENCES people(id),
    used_at       TEXT
);

-- An official's answer; with head sign-off it waits as 'pending' until approved.
CREATE TABLE answers (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    unit_id       TEXT NOT NULL REFERENCES units(id),
    author_id     INTEGER NOT NULL REFERENCES people(id),
    outcome       TEXT NOT NULL CHECK (outcome IN
                    ('resolved', 'partly_resolved', 'explained', 'not_ours')),
    text          TEXT NOT NULL,
    redirect      TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'returned', 'sent')),
    created_at    TEXT NOT NULL,
    decided_by    INTEGER REFERENCES people(id),
    decided_at    TEXT,
    comment       TEXT,
    rating        TEXT CHECK (rating IN ('satisfied', 'basically', 'unsatisfied')),
    rated_at      TEXT
);
CREATE INDEX answers_case ON answers(case_id, id);

CREATE TABLE answer_attachments (
    id             INTEGER PRIMARY KEY,
    answer_id      INTEGER NOT NULL REFERENCES answers(id),
    kind           TEXT NOT NULL CHECK (kind IN ('photo', 'document')),
    file_id        TEXT NOT NULL,
    file_unique_id TEXT NOT NULL,
    file_name      TEXT,
    mime_type      TEXT
);

-- Every message that must reach someone because of a change, written in the change's
-- transaction; the sender delivers it afterwards.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    created_at    TEXT NOT NULL,
    chat_id       INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('message', 'card', 'edit_card', 'file')),
    case_id       INTEGER REFERENCES cases(id),
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    sent_at       TEXT,
    error         TEXT
);
CREATE INDEX outbox_pending ON outbox(status, id);

-- Where each copy of a case's card sits, so every copy can be edited.
CREATE TABLE card_messages (
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    unit_id       TEXT NOT NULL REFERENCES units(id),
    chat_id       INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    PRIMARY KEY (case_id, chat_id, message_id)
);
"""

V3 = """
-- Moments something must happen (a reminder, a breach, an escalation), derived from the
-- cases and re-derived when a deadline moves. ``fired_at`` is set once, in the transaction
-- that does the work, so nothing fires twice.
CREATE TABLE alarms (
    id            INTEGER PRIMARY KEY,
    subject       TEXT NOT NULL,
    subject_id    INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    due           TEXT NOT NULL,
    fire_at       TEXT NOT NULL,
    fired_at      TEXT,
    outcome       TEXT,
    UNIQUE (subject, subject_id, kind, due, fire_at)
);
CREATE INDEX alarms_pending ON alarms(fire_at) WHERE fired_at IS NULL;

-- Requests for more time: one granted extension per case and deadline at most.
CREATE TABLE extensions (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    deadline      TEXT NOT NULL CHECK (deadline IN ('accept', 'answer')),
    requested_by  INTEGER NOT NULL REFERENCES people(id),
    reason        TEXT NOT NULL,
    old_due       TEXT NOT NULL,
    new_due       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'refused')),
    created_at    TEXT NOT NULL,
    decided_by    INTEGER REFERENCES people(id),
    decided_at    TEXT
);
CREATE UNIQUE INDEX extensions_one ON extensions(case_id, deadline)
    WHERE status IN ('pending', 'granted');

-- Updates from Telegram, stored before Telegram is told they arrived.
CREATE TABLE inbox_updates (
    update_id     INTEGER PRIMARY KEY,
    payload       TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    handled_at    TEXT
);
CREATE INDEX inbox_unhandled ON inbox_updates(update_id) WHERE handled_at IS NULL;

-- 'sending': handed to Telegram, answer not yet recorded; after a crash sent at most once more.
ALTER TABLE outbox ADD COLUMN resent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN not_before TEXT;
CREATE INDEX outbox_chat ON outbox(chat_id, status, id);

-- Assessment reports sent to the supervision group on schedule (one per period).
CREATE TABLE scheduled_reports (
    period        TEXT PRIMARY KEY,
    created_at    TEXT NOT NULL
);
"""

V4 = """
-- Supervisors' meetings, materialised from the configured schedules ([[meetings]]) for the
-- coming weeks: one row per schedule and scheduled date (``slot``, before any shift to a
-- working day). ``organizer`` is a Telegram user id or 'head:<unit>'. A meeting is
-- 'scheduled' until its organizer records it ('held'); one the configuration no longer
-- yields is 'cancelled'. ``missing_reported_at``: no record came in time and the supervision
-- group was told (such a meeting counts as not held in the assessment, even if recorded
-- later).
CREATE TABLE meetings (
    id                  INTEGER PRIMARY KEY,
    schedule_key        TEXT NOT NULL,
    slot                TEXT NOT NULL,
    unit_id             TEXT NOT NULL REFERENCES units(id),
    kind                TEXT NOT NULL CHECK (kind IN ('monthly', 'symposium')),
    starts_at           TEXT NOT NULL,
    place               TEXT NOT NULL,
    organizer           TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'scheduled'
                          CHECK (status IN ('scheduled', 'held', 'cancelled')),
    created_at          TEXT NOT NULL,
    recorded_by         INTEGER REFERENCES people(id),
    recorded_at         TEXT,
    minutes             TEXT,
    minutes_file_kind   TEXT CHECK (minutes_file_kind IN ('photo', 'document')),
    minutes_file_id     TEXT,
    minutes_file_name   TEXT,
    missing_reported_at TEXT,
    UNIQUE (schedule_key, slot)
);
CREATE INDEX meetings_unit ON meetings(unit_id, starts_at);
CREATE INDEX meetings_start ON meetings(starts_at);

-- Per meeting and supervisor: the answer before (attend or not, with a reason) and, once
-- the meeting is recorded, whether they attended (NULL: not recorded).
CREATE TABLE meeting_attendance (
    meeting_id    INTEGER NOT NULL REFERENCES meetings(id),
    person_id     INTEGER NOT NULL REFERENCES people(id),
    answer        TEXT CHECK (answer IN ('attend', 'absent')),
    reason        TEXT,
    answered_at   TEXT,
    attended      INTEGER CHECK (attended IN (0, 1)),
    PRIMARY KEY (meeting_id, person_id)
);

-- Issues raised at a meeting and filed as cases (channel 'meeting').
CREATE TABLE meeting_issues (
    meeting_id    INTEGER NOT NULL REFERENCES meetings(id),
    case_id       INTEGER NOT NULL UNIQUE REFERENCES cases(id),
    person_id     INTEGER NOT NULL REFERENCES people(id),
    created_at    TEXT NOT NULL
);
CREATE INDEX meeting_issues_meeting ON meeting_issues(meeting_id);
"""

V5 = """
-- The assessment reads every case's trail in one pass: this index replaces case_events_case
-- (same leading columns) and covers what the pass needs, so the table's rows (and their
-- payloads) are read only for the few events whose payload counts.
DROP INDEX case_events_case;
CREATE INDEX case_events_trail ON case_events(case_id, id, type, at, state_after);
-- Events of one kind in a stretch of time (the arrivals of the year before).
CREATE INDEX case_events_type_at ON case_events(type, at);
-- Ratings of a period, from the answers.
CREATE INDEX answers_rated ON answers(rated_at) WHERE rated_at IS NOT NULL;
"""

V6 = """
-- What the assessment needs of each case's trail, kept by a trigger in the transaction that
-- appends the event, so a report reads one row per case instead of grouping every event
-- (storage/assessment.py; docs/assessment.md). Moments are the events' own (TEXT, UTC):
-- filed_id / filed_at: the first filing by id / the earliest filing moment; first_filed_at,
-- filed_unit: the moment and payload unit of the filing with filed_id; moves: transferred and
-- escalated events; rating_moves: ratings that reopened the case to escalate it (then:
-- escalated); accepted_at, answered_at, ended_at: the earliest acceptance, answer, ending
-- (withdrawn, closed); answer_ev, end_ev: the first answer and ending by id; extensions
-- (extension_granted) and reopenings (ratings that reopened) are counts; last_at: the
-- latest event, so a report as of an earlier moment knows which cases to replay.
CREATE TABLE case_facts (
    case_id        INTEGER PRIMARY KEY REFERENCES cases(id),
    filed_id       INTEGER,
    filed_at       TEXT,
    first_filed_at TEXT,
    filed_unit     TEXT,
    moves          INTEGER NOT NULL,
    rating_moves   INTEGER NOT NULL,
    accepted_at    TEXT,
    answer_ev      INTEGER,
    answered_at    TEXT,
    end_ev         INTEGER,
    ended_at       TEXT,
    extensions     INTEGER NOT NULL,
    reopenings     INTEGER NOT NULL,
    last_at        TEXT NOT NULL
);
CREATE INDEX case_facts_last ON case_facts(last_at);
-- Ratings of a period with what the report counts of them, without reading the answers.
DROP INDEX answers_rated;
CREATE INDEX answers_ratings ON answers(rated_at, case_id, unit_id, rating, outcome)
    WHERE rated_at IS NOT NULL;
INSERT INTO case_facts
SELECT case_id, min(CASE WHEN type = 'filed' THEN id END),
       min(CASE WHEN type = 'filed' THEN at END), NULL, NULL,
       sum(type IN ('transferred', 'escalated')),
       sum(coalesce(type = 'rated' AND state_after = 'reopened' AND json_valid(payload)
                    AND json_extract(payload, '$.then') = 'escalated', 0)),
       min(CASE WHEN type = 'accepted' THEN at END),
       min(CASE WHEN type = 'answered' THEN id END),
       min(CASE WHEN type = 'answered' THEN at END),
       min(CASE WHEN type IN ('withdrawn', 'closed') THEN id END),
       min(CASE WHEN type IN ('withdrawn', 'closed') THEN at END),
       sum(type = 'extension_granted'),
       sum(coalesce(type = 'rated' AND state_after = 'reopened', 0)),
       max(at)
FROM case_events GROUP BY case_id;
UPDATE case_facts SET (first_filed_at, filed_unit) = (
    SELECT e.at, CASE WHEN json_valid(e.payload) THEN json_extract(e.payload, '$.unit') END
    FROM case_events e WHERE e.id = case_facts.filed_id)
WHERE filed_id IS NOT NULL;
CREATE TRIGGER case_events_facts AFTER INSERT ON case_events
BEGIN
INSERT INTO case_facts VALUES (
    NEW.case_id,
    CASE WHEN NEW.type = 'filed' THEN NEW.id END,
    CASE WHEN NEW.type = 'filed' THEN NEW.at END,
    CASE WHEN NEW.type = 'filed' THEN NEW.at END,
    CASE WHEN NEW.type = 'filed' AND json_valid(NEW.payload)
         THEN json_extract(NEW.payload, '$.unit') END,
    NEW.type IN ('transferred', 'escalated'),
    coalesce(NEW.type = 'rated' AND NEW.state_after = 'reopened' AND json_valid(NEW.payload)
             AND json_extract(NEW.payload, '$.then') = 'escalated', 0),
    CASE WHEN NEW.type = 'accepted' THEN NEW.at END,
    CASE WHEN NEW.type = 'answered' THEN NEW.id END,
    CASE WHEN NEW.type = 'answered' THEN NEW.at END,
    CASE WHEN NEW.type IN ('withdrawn', 'closed') THEN NEW.id END,
    CASE WHEN NEW.type IN ('withdrawn', 'closed') THEN NEW.at END,
    NEW.type = 'extension_granted',
    coalesce(NEW.type = 'rated' AND NEW.state_after = 'reopened', 0),
    NEW.at)
ON CONFLICT (case_id) DO UPDATE SET
    filed_id = coalesce(min(filed_id, excluded.filed_id), filed_id, excluded.filed_id),
    filed_at = coalesce(min(filed_at, excluded.filed_at), filed_at, excluded.filed_at),
    first_filed_at = CASE WHEN excluded.filed_id < coalesce(filed_id, excluded.filed_id + 1)
                          THEN excluded.first_filed_at ELSE first_filed_at END,
    filed_unit = CASE WHEN excluded.filed_id < coalesce(filed_id, excluded.filed_id + 1)
                      THEN excluded.filed_unit ELSE filed_unit END,
    moves = moves + excluded.moves,
    rating_moves = rating_moves + excluded.rating_moves,
    accepted_at = coalesce(min(accepted_at, excluded.accepted_at), accepted_at,
                           excluded.accepted_at),
    answer_ev = coalesce(min(answer_ev, excluded.answer_ev), answer_ev, excluded.answer_ev),
    answered_at = coalesce(min(answered_at, excluded.answered_at), answered_at,
                           excluded.answered_at),
    end_ev = coalesce(min(end_ev, excluded.end_ev), end_ev, excluded.end_ev),
    ended_at = coalesce(min(ended_at, excluded.ended_at), ended_at, excluded.ended_at),
    extensions = extensions + excluded.extensions,
    reopenings = reopenings + excluded.reopenings,
    last_at = max(last_at, excluded.last_at);
END;
"""

# Issue 18, limits and roles. Public case numbers get a random check part that /status
# requires (S-2026-00042 becomes S-2026-00042-K7P; the alphabet of storage.cases, picked with
# SQLite's random(), which is seeded from the system). Invites keep only the SHA-256 of their
# code (``sunbox_sha256``, which migrate() provides), and get an id to be listed and
# cancelled by.
