"""Configuration loading: the example file, every kind of problem, token and paths."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot import config as cfg
from bot.config import (
    Config,
    ConfigError,
    DeadlineRule,
    Problem,
    check_config,
    default_config_path,
    load_config,
    parse_config,
)
from bot.durations import DURATION_FORMAT_HELP, DURATION_TOO_LONG, Duration

BASE = """
[routing]
above_supervision = "county"

[[units]]
id = "county"
name_zh = "县委"
name_en = "County"

[[units]]
id = "discipline"
name_zh = "县纪委"
name_en = "Discipline"
parent = "county"
supervision = true

[[categories]]
id = "party_building"
name_zh = "基层党建"
name_en = "Party building"
unit = "county"
"""

UNIT = """
[[units]]
id = "{id}"
name_zh = "某单位"
name_en = "Some unit"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, head: str = "", tail: str = "", **kwargs: object) -> list[Problem]:
    path = write(tmp_path, head + "\n" + BASE + "\n" + tail)
    kwargs.setdefault("env", {})
    problems = check_config(path, **kwargs)  # type: ignore[arg-type]
    for problem in problems:
        problem.render()  # every message formats with its params
    return problems


def keyed(problems: list[Problem]) -> dict[str, Problem]:
    return {problem.key: problem for problem in problems}


# --- the example file -------------------------------------------------------------------------


def test_example_file_is_clean() -> None:
    assert check_config(default_config_path(), env={}) == []
    # With --for-run the token must look like one (tests/transport/test_network.py).
    token = "123456789:AAHk3z_Q7e-rT0pLmN2vXyZ4aBcDeFgHiJk"
    assert check_config(default_config_path(), env={"SUNBOX_TOKEN": token}, for_run=True) == []


def test_example_file_content() -> None:
    config = load_config(default_config_path(), env={})
    assert config.source == str(default_config_path())
    assert config.telegram.token is None
    assert config.telegram.mode == "polling"
    assert config.general.timezone == "Asia/Shanghai"
    assert config.general.default_language == "zh_CN"
    assert config.general.database == str(default_config_path().parent / "sunbox.db")
    assert [unit.id for unit in config.roots()] == ["county"]
    supervision = config.supervision_unit()
    assert supervision is not None and supervision.id == "discipline"
    assert {c.id for c in config.categories} == {
        "party_building",
        "major_decisions",
        "service_commitments",
        "personnel",
        "finance",
        "administrative_approval",
        "work_style",
        "rural_subsidies",
        "low_income_support",
    }
    for category in config.categories:
        config.unit(category.unit)
        assert category.name("zh_CN") and category.name("en")
    assert config.unit("yizhou_town").parent == "county"
    assert len(config.children("yizhou_town")) == 2
    assert len(config.children("lianggezhuang_town")) == 2
    assert config.deadlines.rule("suggestion", "rural_subsidies") == DeadlineRule(
        Duration(1, "wd"), Duration(10, "wd")
    )
    assert config.deadlines.rule("report", "rural_subsidies").answer == Duration(30, "wd")
    assert config.deadlines.rule("suggestion", "finance").answer == Duration(15, "wd")
    assert config.calendar.holidays == (date(2027, 1, 1),)
    assert config.calendar.calendar().is_workday(date(2027, 1, 1)) is False
    assert config.members and all(m.role in cfg.ROLES for m in config.members)
    hash(config)  # immutable all the way down


def test_example_file_documents_its_tables() -> None:
    """Every key line either has a comment above it or belongs to a documented block."""
    lines = default_config_path().read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            # a [table] header: a comment must be nearby above it
            above = [text for text in lines[max(0, index - 3) : index] if text.strip()]
            assert any(text.lstrip().startswith("#") for text in above), line
        elif "=" in stripped and not stripped.startswith("#") and index > 0:
            previous = lines[index - 1].strip()
            in_block = previous and not previous.startswith("[")
            assert previous.startswith("#") or in_block or "#" in stripped, line


# --- problems, one kind at a time --------------------------------------------------------------


def new_unit(unit_id: str, extra: str = "") -> str:
    return UNIT.format(id=unit_id) + extra + "\n"


CASES: list[tuple[str, str, str, str, dict[str, object] | None]] = [
    # (head, tail, key, msgid, params or None to skip the params check)
    ("debug = true", "", "debug", cfg.MSG_UNKNOWN_KEY, None),
    ("", "[telegramm]\ntoken = 'x'", "telegramm", cfg.MSG_UNKNOWN_KEY, None),
    ("[general]\ntimezon = 'Asia/Shanghai'", "", "general.timezon", cfg.MSG_UNKNOWN_KEY, None),
    (
        "",
        new_unit("x", "parent = 'county'\nnmae = 'y'"),
        "units[2].nmae",
        cfg.MSG_UNKNOWN_KEY,
        None,
    ),
    ("", "[deadlines.report]\nanswr = '1wd'", "deadlines.report.answr", cfg.MSG_UNKNOWN_KEY, None),
    # wrong types
    ("general = 5", "", "general", cfg.MSG_TABLE, {}),
    ("[limits]\npage_size = '5'", "", "limits.page_size", cfg.MSG_INTEGER, {}),
    ("[limits]\npage_size = true", "", "limits.page_size", cfg.MSG_INTEGER, {}),
    ("[telegram]\ntoken = 123", "", "telegram.token", cfg.MSG_STRING, {}),
    ("", new_unit("x", "supervision = 'no'"), "units[2].supervision", cfg.MSG_BOOLEAN, {}),
    ("", new_unit("x", "sign_off = 1"), "units[2].sign_off", cfg.MSG_BOOLEAN, {}),
    ("", new_unit("x", "parent = 3"), "units[2].parent", cfg.MSG_STRING, {}),
    ("members = 5", "", "members", cfg.MSG_ARRAY_OF_TABLES, {"name": "members"}),
    ("members = [1]", "", "members[0]", cfg.MSG_TABLE, {}),
    ("[calendar]\nholidays = 2027-01-01", "", "calendar.holidays", cfg.MSG_ARRAY, {}),
    ("", "[deadlines]\nreport = '30wd'", "deadlines.report", cfg.MSG_TABLE, {}),
    ("", "[deadlines.report]\nanswer = 30", "deadlines.report.answer", cfg.MSG_STRING, {}),
    # missing and empty required fields
    ("", "[[units]]\nid = 'x'\nname_en = 'X'", "units[2].name_zh", cfg.MSG_REQUIRED, {}),
    ("", "[[units]]\nname_zh = 'x'\nname_en = 'X'", "units[2].id", cfg.MSG_REQUIRED, {}),
    (
        "",
        "[[categories]]\nid = 'x'\nname_zh = 'x'\nname_en = 'X'",
        "categories[1].unit",
        cfg.MSG_REQUIRED,
        {},
    ),
    (
        "",
        "[[members]]\nrole = 'official'\nunit = 'county'",
        "members[0].telegram_id",
        cfg.MSG_REQUIRED,
        {},
    ),
    (
        "",
        new_unit("x", "name_en = ''").replace('name_en = "Some unit"\n', ""),
        "units[2].name_en",
        cfg.MSG_NOT_EMPTY,
        {},
    ),
    # ids
    ("", new_unit("County Office"), "units[2].id", cfg.MSG_ID_FORMAT, {"max": 32}),
    ("", new_unit("a" * 33), "units[2].id", cfg.MSG_ID_FORMAT, {"max": 32}),
    ("", new_unit("county"), "units[2].id", cfg.MSG_DUPLICATE_UNIT, {"id": "county"}),
    (
        "",
        "[[categories]]\nid = 'party_building'\nname_zh = 'x'\nname_en = 'X'\nunit = 'county'",
        "categories[1].id",
        cfg.MSG_DUPLICATE_CATEGORY,
        {"id": "party_building"},
    ),
    # the unit tree
    (
        "",
        new_unit("x", "parent = 'nowhere'"),
        "units[2].parent",
        cfg.MSG_UNKNOWN_PARENT,
        {"unit": "nowhere"},
    ),
    (
        "",
        new_unit("a", "parent = 'b'") + new_unit("b", "parent = 'a'"),
        "units[2].parent",
        cfg.MSG_CYCLE,
        {"cycle": "a → b → a"},
    ),
    ("", new_unit("a", "parent = 'a'"), "units[2].parent", cfg.MSG_CYCLE, {"cycle": "a → a"}),
    ("", new_unit("x", "supervision = true"), "units", cfg.MSG_SUPERVISION_COUNT, {"count": 2}),
    ("", new_unit("x", "group_chat_id = 42"), "units[2].group_chat_id", cfg.MSG_GROUP_CHAT_ID, {}),
    # references
    (
        "",
        "[[categories]]\nid = 'x'\nname_zh = 'x'\nname_en = 'X'\nunit = 'nope'",
        "categories[1].unit",
        cfg.MSG_UNKNOWN_UNIT,
        {"unit": "nope"},
    ),
    (
        "",
        "[[members]]\ntelegram_id = 7\nrole = 'official'\nunit = 'nope'",
        "members[0].unit",
        cfg.MSG_UNKNOWN_UNIT,
        {"unit": "nope"},
    ),
    (
        "",
        "[[members]]\ntelegram_id = 7\nrole = 'supervision'\nunit = 'county'",
        "members[0].unit",
        cfg.MSG_SUPERVISION_ROLE,
        {"unit": "discipline", "other": "county"},
    ),
    (
        "",
        "[[members]]\ntelegram_id = 7\nrole = 'king'\nunit = 'county'",
        "members[0].role",
        cfg.MSG_UNKNOWN_ROLE,
        {"role": "king", "allowed": ", ".join(cfg.ROLES)},
    ),
    (
        "",
        "[[members]]\ntelegram_id = 0\nrole = 'official'\nunit = 'county'",
        "members[0].telegram_id",
        cfg.MSG_POSITIVE,
        {},
    ),
    (
        "",
        "[[members]]\ntelegram_id = -5\nrole = 'official'\nunit = 'county'",
        "members[0].telegram_id",
        cfg.MSG_POSITIVE,
        {},
    ),
    (
        "",
        "[[members]]\ntelegram_id = '7'\nrole = 'official'\nunit = 'county'",
        "members[0].telegram_id",
        cfg.MSG_INTEGER,
        {},
    ),
    (
        "",
        "[[members]]\ntelegram_id = 7\nrole = 'head'\nunit = 'county'\n" * 2,
        "members[1].telegram_id",
        cfg.MSG_DUPLICATE_MEMBER,
        {"index": 0},
    ),
    # deadlines
    (
        "",
        "[deadlines.report]\nanswer = '30 days'",
        "deadlines.report.answer",
        DURATION_FORMAT_HELP,
        {"value": "30 days"},
    ),
    (
        "",
        "[deadlines.suggestion]\naccept = '0wd'",
        "deadlines.suggestion.accept",
        DURATION_FORMAT_HELP,
        {"value": "0wd"},
    ),
    (
        "",
        "[deadlines.suggestion]\naccept = '99999d'",
        "deadlines.suggestion.accept",
        DURATION_TOO_LONG,
        {"value": "99999d", "max_days": 3660},
    ),
    (
        "",
        "[deadlines.category.nope.suggestion]\nanswer = '10wd'",
        "deadlines.category.nope",
        cfg.MSG_UNKNOWN_CATEGORY,
        {"category": "nope"},
    ),
    (
        "",
        "[deadlines.category.party_building.complaint]\nanswer = '1wd'",
        "deadlines.category.party_building.complaint",
        cfg.MSG_UNKNOWN_KIND,
        {"kind": "complaint", "allowed": "suggestion, report"},
    ),
    (
        "",
        "[deadlines.category.party_building.report]\nanswer = 'soon'",
        "deadlines.category.party_building.report.answer",
        DURATION_FORMAT_HELP,
        {"value": "soon"},
    ),
    (
        "",
        "[deadlines.category.party_building.report]\nanswr = '1wd'",
        "deadlines.category.party_building.report.answr",
        cfg.MSG_UNKNOWN_KEY,
        None,
    ),
    # general
    (
        "[general]\ntimezone = 'Mars/Olympus'",
        "",
        "general.timezone",
        cfg.MSG_TIMEZONE,
        {"value": "Mars/Olympus"},
    ),
    (
        "[general]\ntimezone = '../../etc/passwd'",
        "",
        "general.timezone",
        cfg.MSG_TIMEZONE,
        {"value": "../../etc/passwd"},
    ),
    ("[general]\ntimezone = ''", "", "general.timezone", cfg.MSG_NOT_EMPTY, {}),
    (
        "[general]\ndefault_language = 'fr'",
        "",
        "general.default_language",
        cfg.MSG_LANGUAGE,
        {"value": "fr", "allowed": "zh_CN, en"},
    ),
    ("[general]\ndatabase = ''", "", "general.database", cfg.MSG_NOT_EMPTY, {}),
    # telegram
    (
        "[telegram]\nmode = 'websocket'",
        "",
        "telegram.mode",
        cfg.MSG_MODE,
        {"value": "websocket", "allowed": "polling, webhook"},
    ),
    (
        "[telegram]\napi_base_url = 'ftp://example.org'",
        "",
        "telegram.api_base_url",
        cfg.MSG_URL,
        {},
    ),
    # limits
    ("[limits]\nmax_attachments = 0", "", "limits.max_attachments", cfg.MSG_POSITIVE, {}),
    ("[limits]\npage_size = -3", "", "limits.page_size", cfg.MSG_POSITIVE, {}),
    ("[limits]\nmax_attachments = 11", "", "limits.max_attachments", cfg.MSG_AT_MOST, {"max": 10}),
    # A card of a 4000-character text did not fit Telegram's 4096.
    ("[limits]\ntext_max_chars = 4000", "", "limits.text_max_chars", cfg.MSG_TEXT_AT_MOST,
     {"max": 3500}),
    ("[limits]\nupdates_per_minute = 0", "", "limits.updates_per_minute", cfg.MSG_POSITIVE,
     {}),
    ("[limits]\ncases_per_day = -1", "", "limits.cases_per_day", cfg.MSG_POSITIVE, {}),
    ("[limits]\ninvite_max_days = 400", "", "limits.invite_max_days", cfg.MSG_AT_MOST,
     {"max": 365}),
    (
        "[limits]\ntext_min_chars = 50\ntext_max_chars = 10",
        "",
        "limits.text_min_chars",
        cfg.MSG_MIN_OVER_MAX,
        {"min": 50, "max": 10},
    ),
    (
        "[limits]\ntext_min_chars = 3000",
        "",
        "limits.text_min_chars",
        cfg.MSG_MIN_OVER_MAX,
        {"min": 3000, "max": 2000},
    ),
    # calendar
    (
        "[calendar]\nholidays = ['2027-02-30']",
        "",
        "calendar.holidays[0]",
        cfg.MSG_DATE,
        {"value": "2027-02-30"},
    ),
    (
        "[calendar]\nholidays = [2027-01-01, 'tomorrow']",
        "",
        "calendar.holidays[1]",
        cfg.MSG_DATE,
        {"value": "tomorrow"},
    ),
    (
        "[calendar]\nworkdays = [20270101]",
        "",
        "calendar.workdays[0]",
        cfg.MSG_DATE,
        {"value": "20270101"},
    ),
    (
        "[calendar]\nworkdays = [2027-01-02T08:00:00]",
        "",
        "calendar.workdays[0]",
        cfg.MSG_DATE,
        {"value": "2027-01-02 08:00:00"},
    ),
    (
        "[calendar]\nholidays = [2027-01-04]\nworkdays = ['2027-01-04']",
        "",
        "calendar.workdays",
        cfg.MSG_DATE_BOTH,
        {"date": "2027-01-04"},
    ),
]


@pytest.mark.parametrize(("head", "tail", "key", "msgid", "params"), CASES)
def test_problem_is_reported(
    tmp_path: Path,
    head: str,
    tail: str,
    key: str,
    msgid: str,
    params: dict[str, object] | None,
) -> None:
    problems = problems_of(tmp_path, head, tail)
    found = [p for p in problems if p.key == key and p.message == msgid]
    assert found, f"{key}: {msgid!r} not in {[p.render() for p in problems]}"
    if params is not None:
        assert found[0].params == params
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "config.toml", env={})
    assert info.value.problems == problems


def test_above_supervision_is_required_with_a_supervision_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A report about the supervision unit's own leadership needs somewhere else to go."""
    from bot.cli import main

    without = BASE.replace('[routing]\nabove_supervision = "county"\n', "")
    path = write(tmp_path, without)
    [problem] = check_config(path, env={})
    assert (problem.key, problem.message) == (
        "routing.above_supervision", cfg.MSG_ABOVE_SUPERVISION_REQUIRED)
    assert main(["check-config", str(path), "--lang", "en"]) == 1
    assert "routing.above_supervision: is required when a unit is the supervision group" in (
        capsys.readouterr().err)
    assert main(["check-config", str(path)]) == 1
    assert "routing.above_supervision: 设有监督小组单位时必须填写" in capsys.readouterr().err
    # Without a supervision unit nothing needs it (that file has its own problem).
    no_supervision = without.replace("supervision = true", "")
    assert [p.key for p in check_config(write(tmp_path, no_supervision), env={})] == ["units"]
    # It names a unit, and not the supervision unit itself.
    for value, message in (("nowhere", cfg.MSG_UNKNOWN_UNIT),
                           ("discipline", cfg.MSG_ABOVE_SUPERVISION_SELF)):
        text = BASE.replace('above_supervision = "county"', f'above_supervision = "{value}"')
        [problem] = check_config(write(tmp_path, text), env={})
        assert (problem.key, problem.message, problem.params) == (
            "routing.above_supervision", message, {"unit": value})
    assert load_config(write(tmp_path, BASE), env={}).routing.above_supervision == "county"


def test_no_supervision_unit(tmp_path: Path) -> None:
    text = BASE.replace("supervision = true", "")
    problems = check_config(write(tmp_path, text), env={})
    assert keyed(problems)["units"].message == cfg.MSG_SUPERVISION_COUNT
    assert keyed(problems)["units"].params == {"count": 0}


def test_missing_units_and_categories(tmp_path: Path) -> None:
    problems = check_config(write(tmp_path, "[general]\ntimezone = 'Asia/Shanghai'\n"), env={})
    assert {(p.key, p.message) for p in problems} == {
        ("units", cfg.MSG_REQUIRED),
        ("categories", cfg.MSG_REQUIRED),
    }


def test_longer_cycle_is_named_once(tmp_path: Path) -> None:
    tail = (
        new_unit("a", "parent = 'c'")
        + new_unit("b", "parent = 'a'")
        + new_unit("c", "parent = 'b'")
        + new_unit("d", "parent = 'c'")  # hangs off the cycle: not a cycle of its own
    )
    problems = [p for p in problems_of(tmp_path, "", tail) if p.message == cfg.MSG_CYCLE]
    assert len(problems) == 1
    assert problems[0].key == "units[2].parent"
    assert problems[0].params == {"cycle": "a → c → b → a"}


def test_many_problems_are_all_reported(tmp_path: Path) -> None:
    head = "[general]\ntimezone = 'Nowhere/Land'\ndefault_language = 'de'\n"
    head += "[limits]\npage_size = 0\n"
    tail = (
        new_unit("x", "parent = 'ghost'")
        + "[[members]]\ntelegram_id = 7\nrole = 'emperor'\nunit = 'atlantis'\n"
        + "[deadlines.report]\nanswer = 'never'\n"
    )
    keys = {p.key for p in problems_of(tmp_path, head, tail)}
    assert {
        "general.timezone",
        "general.default_language",
        "limits.page_size",
        "units[2].parent",
        "members[0].role",
        "members[0].unit",
        "deadlines.report.answer",
    } <= keys


# --- the file itself ------------------------------------------------------------------------


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "\n[general]\ntimezone = \n")
    problems = check_config(path, env={})
    assert len(problems) == 1
    assert problems[0].key == str(path)
    assert problems[0].message == cfg.MSG_TOML
    assert problems[0].params["line"] == BASE.count("\n") + 3
    assert problems[0].params["column"] > 0
    assert "line" in problems[0].render()


def test_invalid_toml_at_end_of_document(tmp_path: Path) -> None:
    path = write(tmp_path, "a = [1,\n")
    problem = check_config(path, env={})[0]
    assert problem.message == cfg.MSG_TOML
    assert problem.params["line"] >= 1


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert check_config(path, env={}) == [Problem(str(path), cfg.MSG_NOT_FOUND, {})]
    with pytest.raises(ConfigError):
        load_config(path, env={})


def test_unreadable_file(tmp_path: Path) -> None:
    problems = check_config(tmp_path, env={})  # a directory
    assert problems[0].message == cfg.MSG_UNREADABLE
    assert problems[0].params["error"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes(BASE.encode("gbk"))
    assert check_config(path, env={})[0].message == cfg.MSG_NOT_UTF8


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert check_config(path, env={}) == []


# --- token, paths, lookups --------------------------------------------------------------------


def test_env_token_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "[telegram]\ntoken = 'from-file'\n" + BASE)
    assert load_config(path, env={}).telegram.token == "from-file"
    assert load_config(path, env={"SUNBOX_TOKEN": " from-env\n"}).telegram.token == "from-env"
    assert load_config(path, env={"SUNBOX_TOKEN": ""}).telegram.token == "from-file"


def test_for_run_requires_token(tmp_path: Path) -> None:
    path = write(tmp_path, "[telegram]\ntoken = ''\n" + BASE)
    assert load_config(path, env={}).telegram.token is None  # fine for checking
    with pytest.raises(ConfigError) as info:
        load_config(path, for_run=True, env={})
    assert [(p.key, p.message) for p in info.value.problems] == [("telegram.token", cfg.MSG_TOKEN)]
    assert "SUNBOX_TOKEN" in str(info.value)
    assert load_config(path, for_run=True, env={"SUNBOX_TOKEN": "1:x"}).telegram.token == "1:x"


def test_database_path_resolution(tmp_path: Path) -> None:
    path = write(tmp_path, "[general]\ndatabase = 'data/x.db'\n" + BASE, "sub/config.toml")
    assert load_config(path, env={}).general.database == str(tmp_path / "sub" / "data" / "x.db")
    path = write(tmp_path, "[general]\ndatabase = ':memory:'\n" + BASE)
    assert load_config(path, env={}).general.database == ":memory:"
    absolute = tmp_path / "abs.db"
    path = write(tmp_path, f"[general]\ndatabase = '{absolute}'\n" + BASE)
    assert load_config(path, env={}).general.database == str(absolute)
    path = write(tmp_path, BASE)
    assert load_config(path, env={}).general.database == str(tmp_path / "sunbox.db")


def test_parse_config_without_base_dir_keeps_path() -> None:
    import tomllib

    config, problems = parse_config(tomllib.loads(BASE), env={})
    assert problems == [] and config is not None
    assert config.general.database == "sunbox.db"
    assert config.source is None


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE), env={})
    assert config.telegram.api_base_url == "https://api.telegram.org"
    assert config.limits == cfg.LimitsConfig()
    assert config.deadlines.rule("suggestion", None) == DeadlineRule(
        Duration(1, "wd"), Duration(15, "wd")
    )
    assert config.deadlines.rule("report", "party_building") == DeadlineRule(
        Duration(1, "wd"), Duration(30, "wd")
    )
    assert config.members == ()
    assert config.general.tz.key == "Asia/Shanghai"


def test_override_falls_back_per_field(tmp_path: Path) -> None:
    tail = (
        "[deadlines.suggestion]\naccept = '2h'\n"
        "[deadlines.category.party_building.suggestion]\nanswer = '5wd'\n"
        "[deadlines.category.party_building.report]\naccept = '3d'\n"
    )
    rules = load_config(write(tmp_path, BASE + tail), env={}).deadlines
    assert rules.rule("suggestion", "party_building") == DeadlineRule(
        Duration(2, "h"), Duration(5, "wd")
    )
    assert rules.rule("report", "party_building") == DeadlineRule(
        Duration(3, "d"), Duration(30, "wd")
    )
    assert rules.rule("suggestion", "other") == DeadlineRule(Duration(2, "h"), Duration(15, "wd"))
    with pytest.raises(ValueError):
        rules.rule("complaint", None)


def test_calendar_dates_as_strings(tmp_path: Path) -> None:
    head = "[calendar]\nholidays = ['2027-01-01', 2027-10-01]\nworkdays = [' 2027-01-02 ']\n"
    config = load_config(write(tmp_path, head + BASE), env={})
    assert config.calendar.holidays == (date(2027, 1, 1), date(2027, 10, 1))
    assert config.calendar.workdays == (date(2027, 1, 2),)
    assert config.calendar.calendar().is_workday(date(2027, 1, 2)) is True
    assert config.calendar.calendar() is config.calendar.calendar()


def test_tree_lookups(tmp_path: Path) -> None:
    tail = (
        new_unit("town", "parent = 'county'")
        + new_unit("village_b", "parent = 'town'")
        + new_unit("village_a", "parent = 'town'")
        + new_unit("other_root")
    )
    config = load_config(write(tmp_path, BASE + tail), env={})
    assert [u.id for u in config.roots()] == ["county", "other_root"]
    assert [u.id for u in config.children("town")] == ["village_b", "village_a"]
    assert config.children("village_a") == ()
    assert config.unit_path("village_a") == ("county", "town", "village_a")
    assert config.unit_path("county") == ("county",)
    assert [u.id for u in config.descendants("county")] == [
        "discipline",
        "town",
        "village_b",
        "village_a",
    ]
    with pytest.raises(KeyError):
        config.unit("nope")
    with pytest.raises(KeyError):
        config.children("nope")
    with pytest.raises(KeyError):
        config.category("nope")
    assert config.category("party_building").unit == "county"


def test_names_by_language() -> None:
    unit = cfg.UnitConfig("x", "县委", "County")
    assert unit.name("zh_CN") == "县委"
    assert unit.name("en") == "County"
    category = cfg.CategoryConfig("c", "党建", "Party building", "x")
    assert category.name("zh_CN") == "党建"
    assert category.name("en") == "Party building"


def test_telegram_urls() -> None:
    telegram = cfg.TelegramConfig(token="t", api_base_url="http://127.0.0.1:8081/")
    assert telegram.bot_url == "http://127.0.0.1:8081/bot"
    assert telegram.file_url == "http://127.0.0.1:8081/file/bot"


def test_problem_render_translates() -> None:
    problem = Problem("categories[2].unit", cfg.MSG_UNKNOWN_UNIT, {"unit": "x"})
    assert problem.render() == "categories[2].unit: unknown unit x"
    assert problem.render(lambda s: "未知单位 {unit}") == "categories[2].unit: 未知单位 x"
    assert str(problem) == problem.render()


def test_config_is_immutable() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.units = ()  # type: ignore[misc]
    assert isinstance(config.units, tuple)


def test_alerts_handling_and_assessment_problems_are_reported(tmp_path: Path) -> None:
    base = default_config_path().read_text(encoding="utf-8")
    bad = (base.replace('reminders = ["1wd", "0"]', 'reminders = ["1wd", "soon"]')
           .replace('digest_time = "08:30"', 'digest_time = "8 o\'clock"')
           .replace("max_transfers = 2", "max_transfers = 0")
           .replace("weight_response = 30", "weight_response = -1")
           .replace("answer_on_time_below = 0.9", "answer_on_time_below = 90"))
    path = tmp_path / "config.toml"
    path.write_text(bad, encoding="utf-8")
    keys = {problem.key for problem in check_config(path)}
    assert {"alerts.reminders[1]", "alerts.digest_time", "handling.max_transfers",
            "assessment.weight_response", "assessment.answer_on_time_below"} <= keys
