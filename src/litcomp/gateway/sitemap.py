"""``/sitemap.xml`` and ``/robots.txt``: what search engines may read, and where.

The sitemap lists the app's public pages (sitemaps.org 0.9): every competition, the
entries whose writer is shown (the API hides an anonymous competition's writers until
its results, and the sitemap lists only what it shows to anyone) and those writers. It
is made from the competitions service's public lists, bounded (``MAX_URLS``, entries
of at most ``MAX_COMPETITIONS`` competitions, ``ENTRIES_PER_COMPETITION`` each), and
kept for ``TTL_SECONDS``: a crawler fetching it often costs the services nothing more.
If competitions cannot be reached, the sitemap lists the home page only, for now.
"""

import asyncio
import time
from typing import Any
from xml.sax.saxutils import escape

from litcomp.gateway.heads import Heads
from litcomp.gateway.messages import Response
from litcomp.gateway.pool import ConnectionPool, fetch_answer
from litcomp.kit.instance_table import InstanceTable

PATHS = frozenset({"/sitemap.xml", "/robots.txt"})
MAX_URLS = 10_000
MAX_COMPETITIONS = 200
ENTRIES_PER_COMPETITION = 100
TTL_SECONDS = 600.0
LOOKUP_SECONDS = 2.0
# Pages that are one person's own, or admins': nothing there for a search engine.
# Search results too: an endless space of addresses that only repeat the pages listed.
PRIVATE = ("/profile", "/notifications", "/moderation", "/admin/", "/login", "/signup", "/search")


class Sitemap:
    def __init__(self, pool: ConnectionPool, competitions: InstanceTable, heads: Heads) -> None:
        self._pool = pool
        self._competitions = competitions
        self._heads = heads
        self._lock = asyncio.Lock()
        self._made: dict[str, tuple[float, bytes]] = {}  # base URL -> (when, document)
        self._calls = asyncio.Semaphore(4)  # lookups at once: the services serve others too

    async def answer(self, path: str, scheme: str, host: str | None) -> Response:
        base = self._heads.base_url(scheme, host)
        if path == "/robots.txt":
            return Response(200, [("content-type", "text/plain; charset=utf-8")], robots(base))
        async with self._lock:  # one build at a time; the others then find it made
            made = self._made.get(base)
            if made is None or time.monotonic() - made[0] > TTL_SECONDS:
                made = (time.monotonic(), urlset(base, await self._paths()))
                self._made = {base: made}
        return Response(200, [("content-type", "application/xml; charset=utf-8")], made[1])

    async def _paths(self) -> list[str]:
        paths = ["/", "/competitions"]
        competitions = await self._get("/competitions?status=all&limit=1000")
        if not isinstance(competitions, list):
            return paths
        listed = [c for c in competitions if isinstance(c, dict) and "competition_id" in c]
        paths += [f"/competitions/{c['competition_id']}" for c in listed]
        shown = [c for c in listed if not c.get("anonymous") or c.get("status") == "finished"]
        pages = await asyncio.gather(
            *(
                self._get(
                    f"/competitions/{c['competition_id']}/submissions"
                    f"?limit={ENTRIES_PER_COMPETITION}"
                )
                for c in shown[:MAX_COMPETITIONS]
            )
        )
        writers: dict[str, None] = {}
        for page in pages:
            for entry in page.get("items", []) if isinstance(page, dict) else []:
                author = entry.get("author")
                if isinstance(author, dict) and author.get("user_id"):
                    paths.append(
                        f"/competitions/{entry['competition_id']}/entries/{entry['submission_id']}"
                    )
                    writers[str(author["user_id"])] = None
        paths += [f"/writers/{writer}" for writer in writers]
        return paths[:MAX_URLS]

    async def _get(self, path: str) -> Any:
        async with self._calls:
            answered = await fetch_answer(
                self._pool, self._competitions, path, within=LOOKUP_SECONDS
            )
        return answered[1] if answered is not None and answered[0] == 200 else None


def urlset(base: str, paths: list[str]) -> bytes:
    urls = "".join(f"<url><loc>{escape(base + path)}</loc></url>\n" for path in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{urls}</urlset>\n"
    ).encode()


def robots(base: str) -> bytes:
    rules = "".join(f"Disallow: {path}\n" for path in PRIVATE)
    return f"User-agent: *\n{rules}Allow: /\n\nSitemap: {base}/sitemap.xml\n".encode()
