"""Sunbox's text search (``storage.text_search``) over 100,000 published disclosures, on
SQLite and on PostgreSQL.

    .venv/bin/python -m bench.archive_search [--disclosures 100000] [--engine both]
                                             [--queries 400] [--runs 5]

The archive: ``--disclosures`` published disclosures of 200 units (villages) over five
years (ids in drafting order, published up to five days later, so the two orders differ a
little), 80 % public and 20 % for party members, in the seed's four aspects. Each text is
200–600 characters drawn with a fixed seed, as such notices read: topic words from a
vocabulary of about 170 words of party affairs (党建, 低保户, 三会一课, 民主评议,
土地流转…) with Zipf-like weights, so that some are in most disclosures and others in a few
thousand; lists of the unit's residents (60 names a unit: in a few dozen disclosures each);
its village and hamlets, alone or with a project (张家庄道路硬化工程); function words,
figures (amounts, dates) and punctuation. Titles start with the village. Every disclosure
is indexed by ``text_search.bigrams`` of ``disclosure_text``, as publishing will index it.
SQLite: a file made by the real migrations, filled in one transaction; no ``ANALYZE``
(Sunbox runs none). PostgreSQL: a fresh schema of ``SUNBOX_TEST_DSN``'s server, migrated
by Sunbox, filled by ``COPY``, then ``VACUUM ANALYZE`` (what autovacuum leaves a running
database); dropped afterwards.

The queries (``--queries``): topic words of 2, 3 and 4 characters (half), residents' names
(a fifth), village and hamlet names (a fifth) and words in no disclosure (a tenth); half
of them, drawn apart from the kind, within a unit (the name's own). Each is searched by
``text_search.search_disclosures`` for its first page (20, public and party), as the
register's search box would. ``--runs`` runs of the whole mix in this process, each run's
p50 and p99 printed, and the spread over the runs. Target: p99 < 200 ms on each engine
(the median run's). Apart: one-character queries (the bounded scan of the newest
``SCAN_BOUND``) and the empty query (the archive listed, newest first).

Baseline, in the same process on the same database: what the search replaces, the same
query without a text index, ``title LIKE '%w%' OR body LIKE '%w%' OR sections LIKE '%w%'``
with the same filter, order and page (read newest first by the same index on
``published_at``, so a common word stops early and a rare one reads everything), over the
first 100 queries of the mix (one run). Figures go to stdout and
``bench/results/archive_search.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.migrations import FUNCTIONS, MIGRATIONS, migrate
from storage.migrations import postgres as pg_migrations
from storage.sql import Conn, connect
from storage.text_search import SCAN_BOUND, bigrams, disclosure_text, search_disclosures

from ._harness import Figure, machine, percentile, print_table, write_results

TARGET_P99_MS = 200.0
UNITS = 200
PAGE = 20
AUDIENCES = ("party", "public")
ASPECTS = ("party_building", "major_decisions", "service_pledges", "personnel")
FIRST = datetime(2021, 1, 4, 1, 0, tzinfo=UTC)
BASELINE_QUERIES = 100

#: The vocabulary, most frequent first (weights fall as 1 / rank^0.8).
WORDS = """
党员 群众 工作 村民 公开 党支部 落实 情况 村委会 组织 监督 资金 项目 公示 制度 服务 会议 发展
党建 管理 村务 学习 干部 建设 集体 经济 决策 民主 领导 班子 程序 评议 代表 财务 收支 整改 乡镇
低保 补贴 党务 群众路线 三会一课 主题党日 组织生活会 民主评议 党员大会 支部委员会 村民代表会议
一事一议 四议两公开 村务监督委员会 党风廉政 作风建设 纪律检查 巡察 问责 谈话 函询
低保户 五保户 特困人员 残疾人 临时救助 医疗救助 养老保险 合作医疗 危房改造 易地搬迁 扶贫资金
脱贫攻坚 乡村振兴 产业发展 合作社 土地流转 宅基地 集体资产 清产核资 承包合同 租赁 招标 投标
验收 工程 道路硬化 路灯 饮水 污水 厕所革命 人居环境 垃圾分类 植树造林 退耕还林 粮食直补
耕地保护 防汛 抗旱 森林防火 安全生产 疫情防控 计划生育 征兵 优抚 退役军人 慰问 困难党员
发展党员 入党积极分子 预备党员 转正 党费 收缴 党籍 组织关系 流动党员 党组织 换届 选举
任免 考核 述职 评优 表彰 通报 批评 处分 信访 举报 意见箱 监督电话 接待日 便民服务 办事指南
服务承诺 限时办结 首问负责 一次性告知 窗口 网格员 志愿者 红白理事会 村规民约 移风易俗
""".split()
FILLERS = ("的", "和", "及", "与", "对", "在", "了", "按照", "根据", "关于", "进行", "开展",
           "经", "现将", "予以", "有关", "相关", "要求", "规定", "如下", "全体", "本村",
           "本年度", "上级", "认真", "及时", "全面", "严格", "已经", "正在", "共计")
ABSENT = ("量子计算", "航空母舰", "证券", "火星", "欧阳明", "鼎湖村")
SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕"
            "苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾")
GIVEN = ("建国秀英丽华明军红梅志强永刚海燕玉兰桂芳春生立新德福文杰振宝山金凤洪波晓东俊峰雪"
         "庆爱民卫子豪欣怡浩然梓涵淑珍亮平安顺利荣光辉勇敏静娟霞云飞鹏")
PLACES = "东西南北上下前后大小新老高沟河山岭坡湾桥屯营堡寨庄店铺集坊台岗洼"
PROJECTS = ("道路硬化工程", "饮水工程", "路灯安装", "危房改造项目", "文化广场", "排水沟渠")
PEOPLE = 60  # residents a unit's notices name


@dataclass(frozen=True)
class Unit:
    """What a unit's notices name: its village, two hamlets, its residents."""

    id: str
    village: str
    hamlets: tuple[str, str]
    people: tuple[str, ...]


def county(seed: int = 3) -> list[Unit]:
    rng = random.Random(seed)
    found = []
    for u in range(UNITS):
        village = rng.choice(SURNAMES) + rng.choice(PLACES) + "村"
        hamlets = (rng.choice(SURNAMES) + "家" + rng.choice("庄沟湾屯"),
                   rng.choice(PLACES) + rng.choice(PLACES) + rng.choice("营堡寨"))
        people = tuple(rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
                       for _ in range(PEOPLE))
        found.append(Unit(f"unit{u:03d}", village, hamlets, people))
    return found


def weights() -> list[float]:
    return [1 / (rank + 1) ** 0.8 for rank in range(len(WORDS))]


def sentence(rng: random.Random, w: list[float], unit: Unit) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(3, 7)):
        parts.append(rng.choice(FILLERS))
        draw = rng.random()
        if draw < 0.10:  # a list of residents (低保户, new members, a committee)
            parts.append("、".join(rng.sample(unit.people, rng.randint(2, 5))))
        elif draw < 0.17:
            parts.append(rng.choice((unit.village, *unit.hamlets)))
        elif draw < 0.20:
            parts.append(rng.choice((unit.village, *unit.hamlets)) + rng.choice(PROJECTS))
        else:
            parts.extend(rng.choices(WORDS, w, k=rng.randint(1, 2)))
        if rng.random() < 0.12:
            parts.append(rng.choice((f"{rng.randint(1, 99999):,}元", f"{rng.randint(1, 12)}月"
                                     f"{rng.randint(1, 28)}日", f"{rng.randint(2, 60)}户",
                                     f"{rng.randint(1, 30)}人")))
        parts.append(rng.choice("，，，、；"))
    return "".join(parts[:-1]) + "。"


def disclosures(count: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """The rows to insert: (id, number, unit, audience, aspect, title, body, sections,
    published_at), in id (drafting) order."""
    rng = random.Random(seed)
    w = weights()
    units = county()
    span = 5 * 365 * 86400
    for n in range(1, count + 1):
        unit = units[n % UNITS]
        drafted = FIRST + timedelta(seconds=span * n / count)
        published = drafted + timedelta(days=rng.uniform(0, 5))
        body: list[str] = []
        length = rng.randint(200, 600)
        while sum(map(len, body)) < length:
            body.append(sentence(rng, w, unit))
        text = "".join(body)[:length]
        title = (unit.village + "关于" + "".join(rng.choices(WORDS, w, k=2)) + rng.choice(
            ("的公示", "情况的公开", "的通知", "工作的报告", "的决定")))
        sections = "{}" if rng.random() < 0.7 else json.dumps(
            {"依据": sentence(rng, w, unit), "结果": sentence(rng, w, unit)},
            ensure_ascii=False)
        yield (n, f"D-{published.year}-{n:05d}", unit.id,
               "party" if rng.random() < 0.2 else "public", rng.choice(ASPECTS), title,
               text, sections, published.isoformat(timespec="seconds"))


COLUMNS = ("id, number, unit_id, audience, aspect, title, body, sections, published_at, "
           "item_id, forms, stage, created_at, updated_at")


def full_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*row, "item", '["web"]', "published", row[-1], row[-1])


def grams_of(row: tuple[Any, ...]) -> list[str]:
    return bigrams(disclosure_text(row[5], row[6], row[7]))


def seed_sqlite(path: Path, count: int) -> None:
    with closing(connect(str(path), functions=FUNCTIONS)) as conn:
        migrate(conn, MIGRATIONS)
        conn.execute("BEGIN")
        units(conn)
        batch: list[tuple[Any, ...]] = []
        for row in disclosures(count):
            batch.append(row)
            if len(batch) == 2000:
                _insert_sqlite(conn, batch)
                batch = []
        _insert_sqlite(conn, batch)
        conn.execute("COMMIT")


def units(conn: Conn) -> None:
    conn.executemany("INSERT INTO units (id, name_zh, name_en) VALUES (?, ?, ?)",
                     [(f"unit{u:03d}", f"第{u}村", f"Village {u}") for u in range(UNITS)])


def _insert_sqlite(conn: Conn, rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join("?" * 14)
    conn.executemany(f"INSERT INTO disclosures ({COLUMNS}) VALUES ({marks})",
                     [full_row(row) for row in rows])
    conn.executemany("INSERT INTO disclosure_grams (rowid, grams) VALUES (?, ?)",
                     [(row[0], " ".join(grams_of(row))) for row in rows])


def seed_postgres(url: str, count: int) -> None:
    import psycopg

    from storage.sql_postgres import connect as connect_postgres

    with closing(connect_postgres(url)) as conn:
        pg_migrations.migrate(conn)
        conn.execute("BEGIN")
        units(conn)
        conn.execute("COMMIT")
    with psycopg.connect(url) as raw:  # committed when the block ends
        cursor = raw.cursor()
        with cursor.copy(f"COPY disclosures ({COLUMNS}) FROM STDIN") as copy:
            for row in disclosures(count):
                copy.write_row(full_row(row))
        with cursor.copy("COPY disclosure_grams (disclosure_id, grams) FROM STDIN") as copy:
            for row in disclosures(count):
                copy.write_row((row[0], grams_of(row)))
        raw.execute("SELECT setval(pg_get_serial_sequence('disclosures', 'id'), "
                    "(SELECT max(id) FROM disclosures))")
    with psycopg.connect(url, autocommit=True) as raw:
        raw.execute("VACUUM ANALYZE disclosures")
        raw.execute("VACUUM ANALYZE disclosure_grams")


# ----------------------------------------------------------------------------- queries

Query = tuple[str, str | None, str]  # (text, unit or None, kind)
KINDS = ("topic", "name", "place", "absent")


def mix(count: int, seed: int = 11) -> list[Query]:
    """Topic words of 2, 3 and 4 characters (half the queries), residents' names (a
    fifth), village and hamlet names (a fifth), words in no disclosure (a tenth); half of
    them, drawn apart, within one unit: the unit the name belongs to, or any unit."""
    rng = random.Random(seed)
    units = county()
    by_length = {n: [w for w in WORDS if len(w) == n] for n in (2, 3, 4)}
    found: list[Query] = []
    for i in range(count):
        unit = rng.choice(units)
        kind = i % 10
        if kind < 5:
            word, name = rng.choice(by_length[2 + i % 3]), "topic"
        elif kind < 7:
            word, name = rng.choice(unit.people), "name"
        elif kind < 9:
            word, name = rng.choice((unit.village, *unit.hamlets)), "place"
        else:
            word, name = rng.choice(ABSENT), "absent"
        found.append((word, unit.id if rng.random() < 0.5 else None, name))
    return found


def timed(conn: Conn, queries: list[Query], search: Callable[[Conn, Query], Any]
          ) -> list[float]:
    seconds = []
    for query in queries:
        started = time.perf_counter()
        search(conn, query)
        seconds.append(time.perf_counter() - started)
    return seconds


def indexed(conn: Conn, query: Query) -> Any:
    return search_disclosures(conn, query=query[0], unit_id=query[1], audiences=AUDIENCES,
                              limit=PAGE)


def like_scan(conn: Conn, query: Query) -> Any:
    """The baseline: the same filter, order and page, by LIKE over the texts."""
    pattern = f"%{query[0]}%"
    unit = " AND unit_id = ?" if query[1] else ""
    return conn.execute_fetchall(
        "SELECT id FROM disclosures WHERE number IS NOT NULL AND audience IN (?, ?)"
        f"{unit} AND (title LIKE ? OR body LIKE ? OR sections LIKE ?) "
        "ORDER BY published_at DESC, id DESC LIMIT ?",
        (*AUDIENCES, *([query[1]] if query[1] else []), pattern, pattern, pattern, PAGE + 1))


def ms(values: list[float], q: float) -> float:
    value = percentile([v * 1000 for v in values], q)
    assert value is not None
    return value


def measure(conn: Conn, queries: list[Query], runs: int) -> dict[str, Any]:
    indexed(conn, queries[0])  # warm the caches once
    per_run = []
    for run in range(1, runs + 1):
        seconds = timed(conn, queries, indexed)
        per_run.append({"p50_ms": ms(seconds, 50), "p99_ms": ms(seconds, 99),
                        "max_ms": max(seconds) * 1000,
                        "by_kind_p99_ms": {
                            kind: ms([s for s, q in zip(seconds, queries, strict=True)
                                      if q[2] == kind], 99) for kind in KINDS},
                        "by_length_p99_ms": {
                            n: ms([s for s, q in zip(seconds, queries, strict=True)
                                   if len(q[0]) == n], 99) for n in (2, 3, 4)},
                        "unit_p99_ms": ms([s for s, q in zip(seconds, queries, strict=True)
                                           if q[1]], 99),
                        "all_units_p99_ms": ms([s for s, q in zip(seconds, queries,
                                                                 strict=True)
                                                if not q[1]], 99)})
        print(f"  run {run}: p50 {per_run[-1]['p50_ms']:.1f} ms, p99 "
              f"{per_run[-1]['p99_ms']:.1f} ms, max {per_run[-1]['max_ms']:.1f} ms", flush=True)
    rng = random.Random(5)
    singles: list[Query] = [(rng.choice("党村户资审议罚鼎"), None if i % 2 else "unit007",
                             "one") for i in range(40)]
    single = timed(conn, singles, indexed)
    listing = timed(conn, [("", None if i % 2 else "unit007", "empty") for i in range(40)],
                    indexed)
    scan = timed(conn, queries[:BASELINE_QUERIES], like_scan)
    same = timed(conn, queries[:BASELINE_QUERIES], indexed)
    differ = [q for q in queries[:BASELINE_QUERIES] if agreed(conn, q) is False]
    return {"runs": per_run, "differ_from_like": differ,
            "one_character": {"p50_ms": ms(single, 50), "p99_ms": ms(single, 99)},
            "empty_query": {"p50_ms": ms(listing, 50), "p99_ms": ms(listing, 99)},
            "baseline_like": {"p50_ms": ms(scan, 50), "p99_ms": ms(scan, 99)},
            "indexed_same_queries": {"p50_ms": ms(same, 50), "p99_ms": ms(same, 99)}}


def agreed(conn: Conn, query: Query) -> bool:
    """Whether the search's page is the LIKE scan's (the words are Chinese: normalising
    changes nothing in them, so the two must agree)."""
    page = indexed(conn, query)
    ids = [int(row[0]) for row in like_scan(conn, query)]
    return bool(page.ids == ids[:PAGE] and page.has_more == (len(ids) > PAGE))


def selectivity(conn: Conn, queries: list[Query]) -> dict[str, dict[str, float]]:
    """How many published disclosures hold each distinct query word, by kind (min,
    median, max; as the index counts them: all of the word's bigrams)."""
    counts: dict[str, list[int]] = {}
    for word, kind in sorted({(q[0], q[2]) for q in queries}):
        grams = bigrams(word)
        rows = conn.execute_fetchall(
            "SELECT count(*) FROM disclosure_grams WHERE disclosure_grams MATCH ?",
            (" AND ".join(f'"{g}"' for g in grams),))
        counts.setdefault(kind, []).append(int(rows[0][0]))
    return {kind: {"words": len(found), "min": min(found),
                   "median": statistics.median(found), "max": max(found)}
            for kind, found in counts.items()}


# ----------------------------------------------------------------------------- the run

@contextmanager
def engine_conn(engine: str, count: int) -> Iterator[Conn]:
    """A seeded database of the engine, and a connection to it."""
    started = time.perf_counter()
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="sunbox-search-") as folder:
            path = Path(folder) / "sunbox.db"
            seed_sqlite(path, count)
            print(f"  seeded in {time.perf_counter() - started:.0f} s, "
                  f"{path.stat().st_size / 2**20:.0f} MB", flush=True)
            with closing(connect(str(path), read_only=True)) as conn:
                yield conn
        return
    from storage.sql_postgres import connect as connect_postgres
    from tests.support.engines import fresh_schema

    with fresh_schema() as url:
        seed_postgres(url, count)
        with closing(connect_postgres(url)) as conn:
            [[size]] = conn.execute_fetchall(
                "SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE relkind = 'r' "
                "AND relnamespace = current_schema()::regnamespace")
            print(f"  seeded in {time.perf_counter() - started:.0f} s, "
                  f"{int(size) / 2**20:.0f} MB", flush=True)
            yield conn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disclosures", type=int, default=100_000)
    parser.add_argument("--engine", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    queries = mix(args.queries)
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    results: dict[str, Any] = {}
    figures: list[Figure] = []
    for engine in engines:
        print(f"{engine}: seeding {args.disclosures:,} disclosures …", flush=True)
        with engine_conn(engine, args.disclosures) as conn:
            found = measure(conn, queries, args.runs)
            if engine == "sqlite":
                results["selectivity"] = selectivity(conn, queries)
        results[engine] = found
        p99s = [run["p99_ms"] for run in found["runs"]]
        p50s = [run["p50_ms"] for run in found["runs"]]
        p99 = statistics.median(p99s)
        full = args.disclosures >= 100_000
        figures += [
            Figure(f"{engine}: search p50 (median run)", statistics.median(p50s), "ms",
                   found["baseline_like"]["p50_ms"]),
            Figure(f"{engine}: search p99 (median run)", p99, "ms",
                   found["baseline_like"]["p99_ms"], f"< {TARGET_P99_MS:.0f} ms",
                   p99 < TARGET_P99_MS if full else None),
            Figure(f"{engine}: p99 spread over runs", max(p99s) - min(p99s), "ms"),
            Figure(f"{engine}: 1 character (bounded) p99", found["one_character"]["p99_ms"],
                   "ms"),
            Figure(f"{engine}: empty query p99", found["empty_query"]["p99_ms"], "ms"),
        ]
    spec = machine()
    load = os.getloadavg()
    print(f"\n{args.disclosures:,} disclosures, {len(queries)} queries × {args.runs} runs, "
          f"first page of {PAGE}; one-character queries read the newest {SCAN_BOUND:,}")
    for kind, s in results.get("selectivity", {}).items():
        print(f"disclosures holding a query word ({kind}, {s['words']} words): min "
              f"{s['min']:,}, median {s['median']:,.0f}, max {s['max']:,}")
    for engine in engines:
        differ = results[engine]["differ_from_like"]
        print(f"{engine}: the search's page is the LIKE scan's for "
              f"{BASELINE_QUERIES - len(differ)} of {BASELINE_QUERIES} queries"
              + (f"; not for {differ}" if differ else ""))
    print(f"machine: {spec['cores']} cores, {spec['cpu'] or 'cpu model not given'}, Python "
          f"{spec['python']}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"baseline: the LIKE scan over the first {BASELINE_QUERIES} queries (one run)\n")
    print_table(figures)
    for engine in engines:
        runs = results[engine]["runs"]
        print(f"{engine}: p99 per run " + ", ".join(f"{r['p99_ms']:.1f}" for r in runs)
              + " ms; p99 by length (last run) " + ", ".join(
                  f"{n}: {v:.1f}" for n, v in runs[-1]["by_length_p99_ms"].items())
              + "; by kind " + ", ".join(
                  f"{n}: {v:.1f}" for n, v in runs[-1]["by_kind_p99_ms"].items())
              + f"; in one unit {runs[-1]['unit_p99_ms']:.1f}, all units "
              f"{runs[-1]['all_units_p99_ms']:.1f}; same {BASELINE_QUERIES} queries indexed "
              f"p99 {results[engine]['indexed_same_queries']['p99_ms']:.1f}")
    if args.disclosures >= 100_000:
        path = write_results("archive_search", figures, {
            "disclosures": args.disclosures, "queries": len(queries), "runs": args.runs,
            "load_average": load, **results})
        print(f"results: {path}")


if __name__ == "__main__":
    main()
