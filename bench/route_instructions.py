"""CPU instructions a competitions replica spends on one read or comment, counted, not timed.

Method
------
On a shared 2-core machine the ``floor`` part's CPU per request moves by 10-30% between
runs of the same code; an instruction count does not. This script runs the competitions
app in one process (its own lifespan, on a PostgreSQL database made for the run and
dropped after, without Redis unless ``--cache``: every read is a miss), seeds it with 20
open competitions and an entry of ~1,000 words with 20 comments, and sends one route's
GET to it back to back through httpx's ASGI transport: FastAPI, the middleware, the
service code, SQLAlchemy and asyncpg are counted; uvicorn and the sockets to the client
are not. The users service is
not started: names are left out of the answers, as a replica answers while users is
down, which is the same for both trees measured. ``--route comment`` posts a comment of
~230 characters of Markdown on the entry instead (each one written, its author told),
as a writer whose token is signed by a key of the run's own that the replica is made
to trust.

Valgrind's callgrind counts a run of ``--requests`` requests and one of
``--baseline`` requests; (Ir(requests) - Ir(baseline)) / (requests - baseline) removes
start-up and imports. Start-up itself (~7.4 billion instructions) varies by ~30 million
from run to run: over 100 requests that is ~1.5% of an uncached read but ~15% of a
cache hit, so with ``--cache`` a run sends 1,020 requests, not 120. The replica's
background loops are stopped before it is sent its first request (``quiesce``).

``--cache`` measures a cache hit instead, for the routes the cache serves (``list`` and
``competition``): the replica is given the Redis at ``--redis`` under a key prefix of the
run's own, deleted after, and all its requests but the first are hits.

``--src DIR`` measures another tree's ``src`` too (a worktree of another revision) and
prints the ratio: a change's effect, side by side.

    sudo apt-get install -y valgrind
    git worktree add /tmp/before HEAD~3
    .venv/bin/python -m bench.route_instructions --route entry --src /tmp/before/src
    .venv/bin/python -m bench.route_instructions --route competition --cache
"""

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROUTES = ("list", "competition", "entries", "entry", "comment")
CACHED_ROUTES = ("list", "competition")
QUIET = {
    "LITCOMP_NOTIFICATIONS_POLL_SECONDS": "60",
    "LITCOMP_FINALIZE_POLL_SECONDS": "300",
    "LITCOMP_SUSPENSIONS_REFRESH_SECONDS": "50",
    "LITCOMP_DISCOVERY_URL": "http://127.0.0.1:1",  # nothing there: no peers, no users
}


# --- the driver: run inside valgrind, with the measured tree's src on PYTHONPATH --------


async def drive(route: str, requests: int, var_dir: str, redis_url: str | None) -> None:
    import asyncpg
    import httpx

    run = f"litcomp_instructions_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"CREATE DATABASE {run}")
    os.environ.update(
        LITCOMP_VAR_DIR=var_dir,
        LITCOMP_COMPETITIONS_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1/{run}",
    )
    if redis_url is not None:
        os.environ.update(LITCOMP_REDIS_URL=redis_url, LITCOMP_REDIS_PREFIX=run)
    try:
        from litcomp.competitions.app import create_app
        from litcomp.competitions.settings import get_settings
        from litcomp.kit.logging import configure_logging

        configure_logging("competitions", "INFO")  # a line per request, as a replica logs
        settings = get_settings()
        app = create_app(settings, 0)
        async with app.router.lifespan_context(app):
            path = await seed(app, route)
            await quiesce()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://replica") as http:
                writes = route == "comment"
                if writes:
                    token = trust_a_writer(app, settings.jwt_issuer)
                    http.headers["authorization"] = f"Bearer {token}"
                for _ in range(requests):
                    sent = http.post(path, json={"content": COMMENT}) if writes else http.get(path)
                    (await sent).raise_for_status()
        if redis_url is not None:
            expect_hits(requests - 1)
    finally:
        await admin.execute(f"DROP DATABASE {run} WITH (FORCE)")
        await admin.close()
        if redis_url is not None:
            await forget_keys(redis_url, run)


COMMENT = "The *ending* lands, and the middle drags a little; I would cut the dream. " * 3


def trust_a_writer(app: FastAPI, issuer: str) -> str:
    """A writer's token, signed by a key of the run's own that the replica is made to
    trust: users, which signs tokens, is not started."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from litcomp.kit.auth import PublicKeys, SigningKey, TokenVerifier

    key = SigningKey(Ed25519PrivateKey.generate(), "route-instructions")
    app.state.token_verifier = TokenVerifier(PublicKeys.of(key), issuer=issuer)
    token, _ = key.issue(
        user_id=uuid.uuid4(),
        role="user",
        issuer=issuer,
        ttl=timedelta(hours=1),
        username="reader",
    )
    return token


async def quiesce() -> None:
    """Stop the replica's background loops before counting: what they do depends on
    how long a run takes under valgrind, not on how many requests it sends (discovery,
    unreachable here, is tried every second), and it moved a cache hit's count by 15%."""
    import gc

    from litcomp.kit.background import Background

    running = [each for each in gc.get_objects() if isinstance(each, Background)]
    await asyncio.gather(*(each.stop() for each in running))


def expect_hits(expected: int) -> None:
    """Stop unless the requests after the first were all cache hits: a count of misses
    (Redis unreachable, a key that changed) is not what ``--cache`` says it counts."""
    from prometheus_client import REGISTRY

    labels = {"cache": "competitions", "outcome": "hit"}
    hits = REGISTRY.get_sample_value("litcomp_cache_lookups_total", labels) or 0
    if hits != expected:
        raise SystemExit(f"{hits:.0f} cache hits, not {expected}")


async def forget_keys(redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as Unreachable

    with contextlib.suppress(Unreachable):  # a Redis never reached holds nothing of the run
        async with Redis.from_url(redis_url) as redis:
            keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
            if keys:
                await redis.delete(*keys)


async def seed(app: FastAPI, route: str) -> str:
    """20 open competitions, the first with an entry of ~1,000 words and 20 comments on
    it; the path of ``route``."""
    from litcomp.competitions.models import Comment, Competition, Submission
    from litcomp.kit.times import utcnow

    now = utcnow()
    async with app.state.sessionmaker() as session:
        competitions = [
            Competition(
                title=f"Competition {n}",
                description="A competition to write in. " * 10,
                admin_id=uuid.uuid4(),
                start_date=now - timedelta(days=1),
                end_date=now + timedelta(days=3),
                tags=["flash", "fiction"],
            )
            for n in range(20)
        ]
        session.add_all(competitions)
        await session.flush()
        text = "A word in a story. " * 200
        entry = Submission(
            competition_id=competitions[0].id,
            author_id=uuid.uuid4(),
            title="The entry",
            content=text,
            content_html=f"<p>{text}</p>",
            word_count=1000,
        )
        session.add(entry)
        await session.flush()
        session.add_all(
            Comment(
                submission_id=entry.id,
                author_id=uuid.uuid4(),
                content=f"Comment {n}: the *ending* lands.",
                content_html=f"<p>Comment {n}: the <em>ending</em> lands.</p>",
            )
            for n in range(20)
        )
        await session.commit()
    one = f"/competitions/{competitions[0].id}"
    return {
        "list": "/competitions",
        "competition": one,
        "entries": f"{one}/submissions",
        "entry": f"{one}/submissions/{entry.id}",
        "comment": f"{one}/comment/{entry.id}",
    }[route]


# --- the measurement -----------------------------------------------------------------


def instructions(src: Path, route: str, requests: int, var_dir: Path, redis_url: str | None) -> int:
    """Instructions of one driver run of ``requests`` requests, counted by callgrind."""
    env = {**os.environ, **QUIET, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.route_instructions",
        "--drive",
        route,
        str(requests),
        str(var_dir),
        *([redis_url] if redis_url else []),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the driver failed:\n{done.stderr[-3000:]}")
    return int(found[1])


def per_request(
    src: Path, route: str, requests: int, baseline: int, redis_url: str | None
) -> float:
    with tempfile.TemporaryDirectory(prefix="litcomp-instructions-") as var_dir:
        more = instructions(src, route, requests, Path(var_dir), redis_url)
        fewer = instructions(src, route, baseline, Path(var_dir), redis_url)
    return (more - fewer) / (requests - baseline)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--drive":
        route, requests, var_dir, *redis = sys.argv[2:]
        asyncio.run(drive(route, int(requests), var_dir, redis[0] if redis else None))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--route", choices=ROUTES, default="entry")
    parser.add_argument(
        "--requests", type=int, help="120, or 1020 with --cache: a hit is cheap beside start-up"
    )
    parser.add_argument("--baseline", type=int, default=20)
    parser.add_argument("--src", type=Path, help="another tree's src, measured beside this one")
    parser.add_argument("--cache", action="store_true", help="count cache hits (list, competition)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="with --cache")
    args = parser.parse_args()
    if args.requests is None:
        args.requests = 1020 if args.cache else 120
    if args.requests <= args.baseline:
        parser.error("--requests must be more than --baseline")
    if args.cache and args.route not in CACHED_ROUTES:
        parser.error(f"--cache: the cache serves {' and '.join(CACHED_ROUTES)} only")
    redis_url = args.redis if args.cache else None
    method = "POST" if args.route == "comment" else "GET"
    what = f"{method} {args.route}{' (cached)' if args.cache else ''}"
    here = per_request(ROOT / "src", args.route, args.requests, args.baseline, redis_url)
    print(f"{what}: {here:,.0f} instructions a request (this tree)")
    if args.src is not None:
        there = per_request(args.src, args.route, args.requests, args.baseline, redis_url)
        print(f"{what}: {there:,.0f} instructions a request ({args.src})")
        print(f"this tree / that one: {here / there:.3f}x")


if __name__ == "__main__":
    main()
