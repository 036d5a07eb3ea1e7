"""The ``search`` part of `make bench`: how long ``GET /search?type=entries`` takes over
``--search-entries`` entries (100,000) on PostgreSQL, against the same words looked for
with ILIKE, the search one writes without full-text search, side by side.

The entries are written straight into a database of the bench's PostgreSQL cluster
(COPY; the stored search vectors are computed by PostgreSQL as it would for entries
submitted one by one), 40 to 200 words each in 200 competitions, drawn from a seeded
made-up vocabulary in Zipf's proportions, every other word one of English's function
words (which the English configuration drops): the commonest searchable word is in
nearly every entry, the 25th in about a quarter, the rarest in one or two. Then the
real search of entries (competitions/search/service.py, which the route calls) runs
``--search-runs`` times (200) per kind of query, timed: the commonest word, a common
one, a rare one, two words, a phrase from an entry, a word that is nowhere. The
ILIKE baseline (title or content ILIKE '%word%', newest first, and its count) runs 3
times per kind: it reads the whole table each time. The issue's target: p99 under 50 ms.
"""

import argparse
import asyncio
import itertools
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.measure import log
from bench.stack import PostgresCluster
from litcomp.competitions.app import MIGRATIONS
from litcomp.competitions.models import Submission
from litcomp.competitions.search.service import search_entries
from litcomp.kit.db import create_engine, migrate

SEED = 17
COMPETITIONS = 200
VOCABULARY = 30_000
BASELINE_RUNS = 3
COMMON = 24  # the rank of a word in about a quarter of the entries
FUNCTION_WORDS = [
    "the",
    "and",
    "a",
    "of",
    "to",
    "in",
    "was",
    "he",
    "she",
    "it",
    "that",
    "his",
    "her",
    "with",
    "as",
    "on",
    "for",
    "at",
    "by",
    "from",
    "they",
    "but",
    "had",
    "not",
    "be",
    "this",
    "which",
    "or",
    "an",
    "were",
    "we",
    "all",
    "their",
    "there",
    "been",
    "one",
    "so",
    "if",
    "would",
    "when",
    "what",
]
SYLLABLES = [c + v for c in "bcdfghklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def part(args: argparse.Namespace, cluster: PostgresCluster) -> tuple[str, dict[str, Any]]:
    url = cluster.create_database("search")
    figures = asyncio.run(_measure(url, args.search_entries, args.search_runs))
    lines = [
        f"== search: GET /search?type=entries over {args.search_entries:,} entries "
        f"({figures['words']:,} words), PostgreSQL full-text search against ILIKE; "
        f"{args.search_runs} runs each (ILIKE {BASELINE_RUNS})",
        f"  {'query':<28} {'found':>6} {'p50 ms':>8} {'p99 ms':>8}   {'ILIKE p50 ms':>12}"
        f" {'ILIKE found':>11}",
    ]
    for name, kind in figures["queries"].items():
        lines.append(
            f"  {name + ' ' + repr(kind['q']):<28} {kind['found']:>6} "
            f"{kind['p50_ms']:8.1f} {kind['p99_ms']:8.1f}   {kind['ilike_p50_ms']:12.1f}"
            f" {kind['ilike_found']:>11}"
        )
    worst = max(kind["p99_ms"] for kind in figures["queries"].values())
    figures["worst_p99_ms"] = worst
    lines.append(f"  worst p99: {worst:.1f} ms (target < 50 ms)")
    return "\n".join(lines), figures


def _vocabulary(chance: random.Random) -> list[str]:
    """Made-up words, distinct, of two to four syllables."""
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        words["".join(chance.choices(SYLLABLES, k=chance.randint(2, 4)))] = None
    return list(words)


async def _measure(url: str, entries: int, runs: int) -> dict[str, Any]:
    chance = random.Random(SEED)
    vocabulary = _vocabulary(chance)
    engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        await migrate(engine, MIGRATIONS)
        began = time.perf_counter()
        words, phrase = await _load(url, entries, vocabulary, chance)
        log("search: %s entries loaded and indexed in %.0f s", entries, time.perf_counter() - began)
        queries = {
            "commonest word": vocabulary[0],
            "common word": vocabulary[COMMON],
            "rare word": vocabulary[VOCABULARY // 2],
            "two words": f"{vocabulary[COMMON]} {vocabulary[4 * COMMON]}",
            "phrase": phrase,
            "nowhere": "zzzyxq",
        }
        measured = {name: await _kind(engine, q, runs) for name, q in queries.items()}
    finally:
        await engine.dispose()
    return {"entries": entries, "words": words, "queries": measured}


async def _load(
    url: str, entries: int, vocabulary: list[str], chance: random.Random
) -> tuple[int, str]:
    """The entries written; how many words they have, and a phrase from the first."""
    weights = list(itertools.accumulate(1 / rank for rank in range(1, len(vocabulary) + 1)))
    connection = await asyncpg.connect(url)
    try:
        competitions = [uuid.uuid4() for _ in range(COMPETITIONS)]
        now = datetime.now(UTC)
        await connection.copy_records_to_table(
            "competitions",
            records=[
                (
                    c,
                    f"Bench {n}",
                    "",
                    uuid.uuid4(),
                    now - timedelta(days=7),
                    now + timedelta(days=7),
                    1,
                    now,
                    now,
                )
                for n, c in enumerate(competitions)
            ],
            columns=[
                "id",
                "title",
                "description",
                "admin_id",
                "start_date",
                "end_date",
                "max_entries_per_user",
                "created_at",
                "updated_at",
            ],
        )
        total = 0
        phrase = ""
        batch: list[tuple[Any, ...]] = []
        for n in range(entries):
            count = chance.randint(40, 200)
            searchable = chance.choices(vocabulary, cum_weights=weights, k=count // 2)
            text = " ".join(
                word
                for pair in zip(
                    searchable, chance.choices(FUNCTION_WORDS, k=count // 2), strict=True
                )
                for word in pair
            )
            total += count
            title = " ".join(chance.choices(vocabulary, cum_weights=weights, k=3)).capitalize()
            if n == 0:
                phrase = '"' + " ".join(text.split()[:3]) + '"'  # word, function word, word
            batch.append(
                (
                    uuid.uuid4(),
                    competitions[n % COMPETITIONS],
                    uuid.uuid4(),
                    title,
                    text,
                    count,
                    now - timedelta(seconds=entries - n),
                    0,
                )
            )
            if len(batch) == 5000:
                await _copy(connection, batch)
                batch = []
        if batch:
            await _copy(connection, batch)
        await connection.execute("ANALYZE")  # as autovacuum would after such a load
        return total, phrase
    finally:
        await connection.close()


async def _copy(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    await connection.copy_records_to_table(
        "submissions",
        records=rows,
        columns=[
            "id",
            "competition_id",
            "author_id",
            "title",
            "content",
            "word_count",
            "created_at",
            "like_count",
        ],
    )


async def _kind(engine: AsyncEngine, q: str, runs: int) -> dict[str, Any]:
    async def searched(session: AsyncSession) -> str:
        page, _ = await search_entries(session=session, reader=None, text=q, limit=20, offset=0)
        return f"{page.total:,}" + ("" if page.total_exact else "+")

    word = q.strip('"').split()[0]
    pattern = f"%{word}%"
    matching = sa.or_(Submission.title.ilike(pattern), Submission.content.ilike(pattern))

    async def ilike(session: AsyncSession) -> str:
        await session.execute(
            sa.select(Submission.id, Submission.title)
            .where(matching, Submission.disqualified_at.is_(None))
            .order_by(Submission.created_at.desc())
            .limit(20)
        )
        return f"{await session.scalar(sa.select(sa.func.count()).where(matching)):,}"

    found, times = await _timed(engine, searched, runs)
    ilike_found, baseline = await _timed(engine, ilike, BASELINE_RUNS)
    log("search: %r: %s found, p99 %.1f ms", q, found, _percentile(times, 99))
    return {
        "q": q,
        "found": found,  # counted up to kit.search.CANDIDATES ("+": more)
        "ilike_found": ilike_found,
        "p50_ms": statistics.median(times),
        "p99_ms": _percentile(times, 99),
        "ilike_p50_ms": statistics.median(baseline),
    }


async def _timed(
    engine: AsyncEngine, call: Callable[[AsyncSession], Awaitable[str]], runs: int
) -> tuple[str, list[float]]:
    """``call``'s answer and its times in ms, after one untimed warm-up run; each run
    in a session of its own, as each request has."""
    async with AsyncSession(engine) as session:
        answer = await call(session)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        async with AsyncSession(engine) as session:
            await call(session)
        times.append((time.perf_counter() - began) * 1000)
    return answer, times


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]
