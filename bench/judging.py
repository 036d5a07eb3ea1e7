"""The ``judging`` part of `make bench`: how long finalizing takes when ranked ballots
place the entries, against the same entries placed by likes, side by side.

One competition of ``--judging-entries`` entries (2,000) that has just ended, with
``--judging-ballots`` ranked ballots (50,000) of 5 to 20 entries each, drawn from a
seeded Plackett-Luce model (each entry a hidden strength; a voter's ballot is a random
sample ordered by strength plus noise), written straight into a database of the
bench's PostgreSQL cluster. Then the real ``lifecycle.finalize`` runs on it, as a
replica's finalizer would: read the entries and every ballot, fit Bradley-Terry, write
the places and one notice per participant, in one transaction. The same entries in a
likes competition are finalized first, as the floor. The issue's target: under 5 s.
"""

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from bench.measure import log
from bench.stack import PostgresCluster
from litcomp.competitions.app import MIGRATIONS
from litcomp.competitions.lifecycle import finalize
from litcomp.kit.db import create_engine, migrate

SEED = 16


def part(args: argparse.Namespace, cluster: PostgresCluster) -> tuple[str, dict[str, Any]]:
    url = cluster.create_database("judging")
    figures = asyncio.run(_measure(url, args.judging_entries, args.judging_ballots))
    ratio = figures["ranked_seconds"] / max(figures["likes_seconds"], 1e-9)
    figures["ranked_vs_likes"] = ratio
    report = "\n".join(
        [
            f"== judging: finalizing {args.judging_entries:,} entries placed by likes, and by "
            f"{args.judging_ballots:,} ranked ballots ({figures['ballot_places']:,} places on "
            "them; Bradley-Terry), PostgreSQL",
            f"  likes:  {figures['likes_seconds']:6.2f} s",
            f"  ranked: {figures['ranked_seconds']:6.2f} s  ({ratio:.1f}x likes; target < 5 s)",
        ]
    )
    return report, figures


async def _measure(url: str, entries: int, ballots: int) -> dict[str, Any]:
    engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        await migrate(engine, MIGRATIONS)
        connection = await asyncpg.connect(url)
        try:
            likes_id = await _competition(connection, "likes")
            await _entries(connection, likes_id, entries)
            ranked_id = await _competition(connection, "ranked")
            ids = await _entries(connection, ranked_id, entries)
            places = await _ballots(connection, ranked_id, ids, ballots)
            # As autovacuum would after such a load: without statistics the planner
            # takes 600,000 ballot places for a handful and nests loops over them.
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
        likes = await _finalize(engine, likes_id)
        ranked = await _finalize(engine, ranked_id)
    finally:
        await engine.dispose()
    log("judging: likes %.2f s, ranked %.2f s", likes, ranked)
    return {
        "entries": entries,
        "ballots": ballots,
        "ballot_places": places,
        "likes_seconds": likes,
        "ranked_seconds": ranked,
    }


async def _finalize(engine: Any, competition_id: uuid.UUID) -> float:
    began = time.perf_counter()
    async with AsyncSession(engine, expire_on_commit=False) as session:
        notified = await finalize(session, competition_id)
    assert notified, "the competition should have been finalized now"
    return time.perf_counter() - began


async def _competition(connection: asyncpg.Connection, judging: str) -> uuid.UUID:
    """One that opened a week ago and whose voting ended a second ago."""
    now = datetime.now(UTC)
    competition_id = uuid.uuid4()
    await connection.execute(
        "INSERT INTO competitions (id, title, description, admin_id, start_date, end_date,"
        " voting_end_date, max_entries_per_user, prompt, rules, tags, comments_after_results,"
        " anonymous, judging, created_at, updated_at) VALUES ($1, $2, '', $3, $4, $5, $6, 1,"
        " '', '', '[]', true, false, $7, $4, $4)",
        competition_id,
        f"Bench ({judging})",
        uuid.uuid4(),
        now - timedelta(days=7),
        now - timedelta(days=1),
        now - timedelta(seconds=1),
        judging,
    )
    return competition_id


async def _entries(
    connection: asyncpg.Connection, competition_id: uuid.UUID, count: int
) -> list[uuid.UUID]:
    chance = random.Random(SEED)
    created = datetime.now(UTC) - timedelta(days=3)
    rows = [
        (
            uuid.uuid4(),
            competition_id,
            uuid.uuid4(),
            f"Entry {n}",
            "Words.",
            1,
            "<p>Words.</p>\n",
            chance.randrange(50),
            created + timedelta(seconds=n),
        )
        for n in range(count)
    ]
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
            "content_html",
            "like_count",
            "created_at",
        ],
    )
    return [row[0] for row in rows]


async def _ballots(
    connection: asyncpg.Connection,
    competition_id: uuid.UUID,
    entries: list[uuid.UUID],
    count: int,
) -> int:
    """``count`` ballots of 5 to 20 entries, each ordered by strength plus noise."""
    chance = random.Random(SEED)
    strength = {entry: chance.gauss(0, 1) for entry in entries}
    cast = datetime.now(UTC) - timedelta(days=1)
    rows: list[tuple[uuid.UUID, uuid.UUID, int, uuid.UUID, datetime]] = []
    for _ in range(count):
        voter = uuid.uuid4()
        read = chance.sample(entries, chance.randint(5, min(20, len(entries))))
        read.sort(key=lambda e: strength[e] + chance.gauss(0, 1), reverse=True)
        rows.extend(
            (competition_id, voter, position, entry, cast) for position, entry in enumerate(read)
        )
    await connection.copy_records_to_table(
        "ballot_entries",
        records=rows,
        columns=["competition_id", "voter_id", "position", "submission_id", "cast_at"],
    )
    return len(rows)
