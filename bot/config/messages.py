"""What is wrong with a configuration, in words: the English msgids (marked with ``N_``,
translated when shown) that :class:`~bot.config.reader.Problem` carries. Placeholders are
filled from ``Problem.params``."""

from __future__ import annotations

from bot.i18n import N_

MSG_UNKNOWN_KEY = N_("unknown key; allowed keys: {allowed}")
MSG_REQUIRED = N_("is required")
MSG_NOT_EMPTY = N_("must not be empty")
MSG_STRING = N_("must be a string")
MSG_INTEGER = N_("must be an integer")
MSG_BOOLEAN = N_("must be true or false")
MSG_TABLE = N_("must be a table")
MSG_ARRAY = N_("must be an array")
MSG_ARRAY_OF_TABLES = N_("must be an array of tables, written [[{name}]]")
MSG_POSITIVE = N_("must be a positive integer")
MSG_AT_MOST = N_("must be at most {max}")
MSG_TEXT_AT_MOST = N_(
    "must be at most {max}: a Telegram message holds 4096 characters, and the case card "
    "adds its own lines to the text")
MSG_GROUP_CHAT_ID = N_("must be a negative integer (a group chat id)")
MSG_URL = N_("must be an http:// or https:// URL")
MSG_MODE = N_('unsupported mode "{value}"; allowed: {allowed}')
MSG_TIMEZONE = N_('unknown time zone "{value}"')
MSG_CHOICE = N_('unsupported value "{value}"; allowed: {allowed}')
MSG_LANGUAGE = N_('unsupported language "{value}"; allowed: {allowed}')
MSG_DATE = N_('not a date: "{value}" (use YYYY-MM-DD)')
MSG_DATE_BOTH = N_("{date} is listed both as a holiday and as a working day")
MSG_YEAR = N_("must be a list of years from {min} to {max}, e.g. [2027]")
MSG_YEAR_EMPTY = N_(
    "{year} is declared complete but holidays lists no day of it: copy the State Council's "
    "notice for {year} into holidays and workdays first")
MSG_ID_FORMAT = N_(
    "ids use lowercase letters, digits and underscores, start with a letter "
    "and have at most {max} characters"
)
MSG_DUPLICATE_UNIT = N_("duplicate unit id {id}")
MSG_DUPLICATE_CATEGORY = N_("duplicate category id {id}")
MSG_DUPLICATE_MEMBER = N_("duplicate member: same telegram_id, role and unit as members[{index}]")
MSG_UNKNOWN_PARENT = N_("unknown parent unit {unit}")
MSG_CYCLE = N_("the unit tree has a cycle: {cycle}")
MSG_UNKNOWN_UNIT = N_("unknown unit {unit}")
MSG_UNKNOWN_ROLE = N_("unknown role {role}; allowed: {allowed}")
MSG_SUPERVISION_ROLE = N_(
    "the role supervision can be held only in the supervision unit ({unit}), not in {other}"
)
MSG_SUPERVISION_COUNT = N_(
    "exactly one unit must be the supervision group (supervision = true); found {count}"
)
MSG_ABOVE_SUPERVISION_REQUIRED = N_(
    "is required when a unit is the supervision group: the id of the unit that receives "
    "reports about the supervision unit's own leadership (e.g. the county party committee)"
)
MSG_ABOVE_SUPERVISION_SELF = N_(
    "must not be the supervision unit {unit}: reports about its own leadership never go to it"
)
MSG_UNKNOWN_CATEGORY = N_("unknown category {category}")
MSG_UNKNOWN_KIND = N_("unknown kind {kind}; allowed: {allowed}")
MSG_MIN_OVER_MAX = N_("text_min_chars ({min}) is greater than text_max_chars ({max})")
MSG_EXACT_DURATION = N_(
    'must be a length of time in s, m, h or d (not working days), e.g. "{example}"')
MSG_DURATION_RANGE = N_("must be from {min} to {max}")
MSG_TOML = N_("invalid TOML at line {line}, column {column}: {error}")
MSG_NOT_FOUND = N_("file not found")
MSG_UNREADABLE = N_("cannot read the file: {error}")
MSG_NOT_UTF8 = N_("the file is not valid UTF-8")
MSG_PROXY = N_(
    "must be a proxy URL: http://, https://, socks4://, socks5:// or socks5h://, with a host "
    "and a port (e.g. socks5://127.0.0.1:1080)"
)
MSG_PROXY_ENV = N_("the environment variable {name} is not a usable proxy URL: {value}")
MSG_TOKEN_FORMAT = N_(
    "does not look like a bot token from @BotFather: digits, a colon, then at least 30 "
    "letters, digits, - or _ (e.g. 123456789:AAH...)"
)
MSG_TOKEN = N_(
    "a bot token is required: set telegram.token or the SUNBOX_TOKEN environment variable"
)
# [telegram] webhook mode and [http]
MSG_WEBHOOK_URL = N_(
    "must be an https:// URL on port 443, 80, 88 or 8443: Telegram delivers webhooks "
    "nowhere else (e.g. https://sunbox.example.gov.cn/telegram)"
)
MSG_WEBHOOK_REQUIRED = N_(
    'is required when mode is "webhook": the https:// address at which Telegram delivers '
    "the updates"
)
MSG_SECRET_TOKEN = N_(
    "must be 1 to 256 characters, each a letter A-Z or a-z, a digit, _ or -"
)
MSG_LISTEN = N_(
    "must be an IP address or a host name to listen on, e.g. 127.0.0.1 (this machine only) "
    "or 0.0.0.0 (every network interface)"
)
MSG_FILES_REQUIRED = N_(
    "a PostgreSQL database needs a folder for the attachments that every instance shares: "
    "set storage.files"
)
MSG_SEAL_KEY_REQUIRED = N_(
    "a PostgreSQL database needs the seal key to be supplied: set security.seal_key_file "
    "to an existing key file or the SUNBOX_SEAL_KEY environment variable"
)

# [alerts] and [retention]
MSG_BAD_TIME = N_('not a time of day: "{value}" (use HH:MM)')
MSG_RETENTION = N_(
    'invalid retention period "{value}": use a whole number from 1 followed by y (years) '
    'or d (days), e.g. "3y" or "1095d"'
)
MSG_RETENTION_TOO_LONG = N_('retention period "{value}" is too long: at most {max} years')
# [assessment]
MSG_WEIGHTS = N_("the weights must not be negative and must not all be 0")
MSG_RATE = N_("must be a number from 0 to 1")
# [[meetings]]
MSG_DUPLICATE_MEETING = N_("duplicate meeting id {id}")
MSG_SHIFT = N_('unknown shift "{value}"; allowed: {allowed}')
MSG_CRON = N_('not a cron expression: "{value}" (five fields: minute hour day-of-month '
              'month day-of-week, e.g. "30 9 1-7 * 2")')
MSG_CRON_TIME = N_("minute and hour must be single numbers: a meeting starts at one time of day")
MSG_CRON_NEVER = N_('"{value}" never happens')
MSG_ORGANIZER = N_(
    "the organizer is a Telegram user id, \"head\" (the heads of the meeting's unit) or "
    "\"head:<unit>\""
)
MSG_MEETING_OFFSET = N_('not a moment before the meeting: "{value}" (write days before and a '
                        'time, e.g. "3d 09:00", "1wd 16:00" or "0d 08:00"; at most {max} days)')
# [[units]], [[members]] and the disclosure register (党务公开): [[disclosure_aspects]],
# [[disclosure_items]] and [disclosure]
MSG_CHANNEL_ID = N_("must be a negative integer (a channel id, e.g. -1001234567890)")
MSG_NOT_NEGATIVE = N_("must be an integer from 0 up")
MSG_ROLE_OR_PARTY = N_(
    "is required: a role, or party_member = true for a party member of the unit's branch")
MSG_DUPLICATE_ASPECT = N_("duplicate aspect id {id}")
MSG_ASPECT_RESERVED = N_(
    "{id} is one of the four items ({allowed}): a finer aspect needs an id of its own")
MSG_DUPLICATE_ITEM = N_("duplicate disclosure item id {id}")
MSG_UNKNOWN_ASPECT = N_(
    'unknown aspect "{value}": one of {allowed}, or the id of a [[disclosure_aspects]]')
MSG_UNIT_OR_LEVEL = N_(
    "exactly one of unit (one unit) and units_of_level (every unit of a level) is required")
MSG_DUPLICATE_FORM = N_("lists {form} twice")
MSG_SCHEDULE_KEY = N_("a {kind} schedule has no such key; its keys: {allowed}")
MSG_DAYS = N_('must be a number of days ("10d") or of working days ("5wd")')
MSG_DUE_TOO_LATE = N_(
    "a {period} item must be due before the next period ends: at most {max}")
MSG_DUPLICATE_STAGE = N_("the stage {stage} is listed twice")
