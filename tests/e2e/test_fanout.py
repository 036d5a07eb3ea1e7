"""The entry fan-out worker: a job that keeps failing does not hold up the others."""

import asyncio
import time

import httpx
import sqlalchemy as sa

from litcomp.competitions.models import FanoutJob
from litcomp.kit.db import create_engine
from tests.support import Account, Platform, asyncpg_url, create_competition, sign_up


def _notices(competitions: httpx.Client, account: Account) -> list[dict[str, object]]:
    answer = competitions.get("/notifications?limit=50", headers=account.auth)
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_a_failing_job_is_retried_later_behind_the_others(
    platform: Platform,
    users: httpx.Client,
    competitions: httpx.Client,
    admin: Account,
    writer: Account,
    reader: Account,
):
    competition_id = create_competition(competitions, admin, "Retries")
    first = competitions.post(
        f"/competitions/{competition_id}/submit",
        json={"title": "First", "content": "…"},
        headers=writer.auth,
    ).json()["submission_id"]
    engine = create_engine(asyncpg_url(platform.env["LITCOMP_COMPETITIONS_DATABASE_URL"]))
    try:
        async with engine.begin() as connection:  # a job whose data cannot be a notice
            broken = await connection.scalar(
                sa.insert(FanoutJob)
                .values(
                    competition_id=competition_id,
                    submission_id=first,
                    author_id=writer.user_id,
                    data=[1, 2, 3],
                )
                .returning(FanoutJob.id)
            )
        assert users.post(f"/users/subscribe/{competition_id}", headers=reader.auth).is_success
        second = competitions.post(
            f"/competitions/{competition_id}/submit",
            json={"title": "Second", "content": "…"},
            headers=sign_up(users, "second").auth,
        ).json()["submission_id"]
        deadline = time.monotonic() + 10
        while not any(
            n["data"]["submission_id"] == second  # type: ignore[index]
            for n in _notices(competitions, reader)
        ):
            assert time.monotonic() < deadline, "the entry behind the failing job was not told"
            await asyncio.sleep(0.2)
        async with engine.begin() as connection:
            attempts, retry_at = (
                await connection.execute(
                    sa.select(FanoutJob.attempts, FanoutJob.next_attempt_at).where(
                        FanoutJob.id == broken
                    )
                )
            ).one()
            await connection.execute(sa.delete(FanoutJob).where(FanoutJob.id == broken))
        assert attempts >= 1 and retry_at is not None
    finally:
        await engine.dispose()
