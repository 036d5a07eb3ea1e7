"""What a shared link shows before the app runs: the ``<head>`` of an app page.

A link pasted into a chat or a post is previewed from the page's ``<title>``, meta
description and Open Graph / Twitter card tags, read by a crawler that runs no
script. So for a browser navigation (pages.py) the gateway writes them into the page
itself, from what the competitions and users services answer anyone over their public
APIs (no token: an anonymous competition's entry names no writer before its results,
exactly as the API hides it). Every text is HTML-escaped. The lookups have a short
deadline (``LOOKUP_SECONDS``); a service that is down or slow gives the plain head,
never an error and never a slow page. ``found`` false (the service said 404) makes
the page a 404, which the app then shows as "not found".
"""

import asyncio
import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litcomp.gateway.pool import ConnectionPool, fetch_answer
from litcomp.kit.instance_table import InstanceTable

SITE = "litcomp"
ABOUT = (
    "litcomp runs short-fiction writing competitions: enter a story on a prompt before"
    " the deadline, read and like the other entries, and see who wins."
)
LOOKUP_SECONDS = 0.5
DESCRIPTION_CHARS = 200
_BLOCK = re.compile(r"</?(?:p|br|hr|h[1-6]|li|ul|ol|blockquote|pre)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_COMPETITION = re.compile(r"/competitions/([^/]+)(/results|/ballot|/edit)?")
_ENTRY = re.compile(r"/competitions/([^/]+)/entries/([^/]+)")
_WRITER = re.compile(r"/writers/([^/]+)")
_PLAIN_TITLES = {
    "/": SITE,
    "/competitions": "Competitions",
    "/login": "Log in",
    "/signup": "Create an account",
    "/search": "Search",
}


@dataclass(frozen=True)
class Head:
    title: str = SITE
    description: str = ABOUT
    kind: str = "website"  # og:type
    found: bool = True

    def render(self, url: str) -> str:
        title = self.title if self.title == SITE else f"{self.title} · {SITE}"
        tags = [
            f"<title>{_escape(title)}</title>",
            _meta("name", "description", self.description),
            f'<link rel="canonical" href="{_escape(url)}">',
            _meta("property", "og:site_name", SITE),
            _meta("property", "og:type", self.kind),
            _meta("property", "og:title", self.title),
            _meta("property", "og:description", self.description),
            _meta("property", "og:url", url),
            _meta("name", "twitter:card", "summary"),
            _meta("name", "twitter:title", self.title),
            _meta("name", "twitter:description", self.description),
        ]
        return "\n".join(tags)


class Heads:
    """The head of each app page, from the services' public answers."""

    def __init__(
        self,
        pool: ConnectionPool,
        instances: dict[str, InstanceTable],
        *,
        public_url: str = "",
        within: float = LOOKUP_SECONDS,
    ) -> None:
        self._pool = pool
        self._instances = instances
        self._public_url = public_url.rstrip("/")
        self._within = within

    def base_url(self, scheme: str, host: str | None) -> str:
        """``LITCOMP_PUBLIC_URL``, else the address the client asked for (if a plain host)."""
        if self._public_url:
            return self._public_url
        return f"{scheme}://{host if host and _HOST.fullmatch(host) else 'localhost'}"

    async def head(self, path: str) -> Head:
        """The head for the app page at ``path``: the plain one if a lookup fails or is slow."""
        try:
            async with asyncio.timeout(self._within):
                return await self._look_up(path)
        except TimeoutError:
            return Head(_PLAIN_TITLES.get(path, SITE))

    async def _look_up(self, path: str) -> Head:
        if entry := _ENTRY.fullmatch(path):
            competition_id, submission_id = entry.groups()
            found = await self._get(
                "competitions",
                f"/competitions/{quote(competition_id)}/submissions/{quote(submission_id)}",
            )
            return entry_head(found) if found is not None else Head()
        if competition := _COMPETITION.fullmatch(path):
            found = await self._get("competitions", f"/competitions/{quote(competition[1])}")
            return competition_head(found) if found is not None else Head()
        if writer := _WRITER.fullmatch(path):
            found = await self._get("users", f"/users/{quote(writer[1])}")
            return writer_head(found) if found is not None else Head()
        return Head(_PLAIN_TITLES.get(path, SITE))

    async def _get(self, service: str, path: str) -> dict[str, Any] | bool | None:
        """The object at ``path``; False if the service says there is none (404); None
        if it cannot say."""
        answered = await fetch_answer(
            self._pool, self._instances[service], path, within=self._within
        )
        if answered is None:
            return None
        status, document = answered
        if status == 404:
            return False
        return document if status == 200 and isinstance(document, dict) else None


def competition_head(competition: dict[str, Any] | bool) -> Head:
    if not isinstance(competition, dict):
        return Head("Competition not found", found=False)
    about = competition.get("prompt") or competition.get("description") or ABOUT
    return Head(str(competition.get("title") or SITE), first_words(str(about)))


def entry_head(entry: dict[str, Any] | bool) -> Head:
    """A story: its title, its writer's name if the API gives it (revealed), its first lines."""
    if not isinstance(entry, dict):
        return Head("Story not found", found=False)
    title = str(entry.get("title") or SITE)
    author = entry.get("author")
    writer = author.get("username") if isinstance(author, dict) else None
    text = first_words(plain_text(str(entry.get("content_html") or "")))
    return Head(f"{title}, by {writer}" if writer else title, text or ABOUT, kind="article")


def writer_head(profile: dict[str, Any] | bool) -> Head:
    if not isinstance(profile, dict):
        return Head("Writer not found", found=False)
    name = str(profile.get("username") or "A writer")
    bio = first_words(str(profile.get("bio") or ""))
    return Head(name, bio or f"{name} writes short fiction on {SITE}.", kind="profile")


def plain_text(rendered: str) -> str:
    """The words of the API's sanitized ``content_html``, without markup."""
    return html.unescape(_TAG.sub("", _BLOCK.sub(" ", rendered)))


def first_words(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """``text`` on one line, cut at a word within ``limit`` characters, with "…"."""
    line = _SPACE.sub(" ", text).strip()
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:.") + "…"


def _meta(attribute: str, name: str, content: str) -> str:
    return f'<meta {attribute}="{name}" content="{_escape(content)}">'


def _escape(text: str) -> str:
    return html.escape(text, quote=True)
