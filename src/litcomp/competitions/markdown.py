"""Entries and comments as HTML: their Markdown (CommonMark), rendered and then cleaned.

The text is stored exactly as written; this renders it for reading. What a writer
may use: emphasis, strong, headings, block quotes, lists, code (inline and fenced),
links, and scene breaks (``***`` or ``---`` on a line of their own) as ``<hr>``.
Two departures from a plain CommonMark renderer, both for prose:

- a line break is kept as ``<br>`` (the spec lets a renderer treat soft breaks as
  hard ones): poems, dialogue and entries written before Markdown keep their lines;
- a line indented by four spaces or a tab stays a paragraph, not a code block:
  writers indent paragraphs. Fenced code (```) is still code.

Nothing a writer types can run script, in two layers. markdown-it renders with HTML
off, so tags typed in the text come out as text, and it refuses javascript:, vbscript:,
file: and most data: links. nh3 (ammonia) then keeps only the tags and attributes
below: links only to http, https and mailto, with ``rel`` set so the reader's page is
neither named to nor reachable from the target, and no ``target``. The web app adds
a third layer (it rebuilds the HTML through its own allow-list) and a
Content-Security-Policy that runs no inline script.

Images are not shown: each becomes its alt text. A picture in an entry would be
fetched from its host by every reader's browser (telling that host who reads what,
and it could change after the deadline), and the alt text is the writer's own words.

Bounded: markdown-it stops nesting at ``MAX_NESTING`` levels (what is nested deeper
is left out), and an entry is at most 200,000 characters. Rendering takes milliseconds
for a story but up to seconds for text written to be slow (200,000 ``[`` take about
2.5 s, pure Python): it happens once, when the text is written (``rendered``, off the
event loop unless the text is short), and what is read is the stored HTML, so no
reader pays for it.
"""

import asyncio
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

MAX_NESTING = 20  # markdown-it's commonmark default: block quotes in lists in ...
# Text this short renders on the event loop: prose of this length takes tens of
# microseconds, text written to be slow 15 ms (``![`` repeated, the slowest found),
# while the hand-off to a thread and back costs a few hundred microseconds of CPU on a
# busy machine (the thread and the loop take turns with the GIL): more than a comment.
INLINE_CHARS = 1_000

TAGS = {
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "ul",
    "ol",
    "li",
    "code",
    "pre",
    "a",
}
# "*": none on every tag (ammonia's default would allow lang and title anywhere).
ATTRIBUTES: dict[str, set[str]] = {"*": set(), "a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer ugc"


def _alt_text(
    renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An image, rendered as its alt text (escaped, like any text)."""
    children = tokens[idx].children or []
    return str(renderer.renderInlineAsText(children, options, env))


def _markdown() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark", {"html": False, "breaks": True, "maxNesting": MAX_NESTING}
    ).disable("code")
    md.add_render_rule("image", _alt_text)
    return md


_MARKDOWN = _markdown()
_CLEANER = nh3.Cleaner(
    tags=TAGS,
    attributes=ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)


def to_html(text: str) -> str:
    """``text`` (Markdown) as HTML that is safe to put in a page."""
    return str(_CLEANER.clean(_MARKDOWN.render(text)))


async def rendered(text: str) -> str:
    """``to_html``; of longer text than ``INLINE_CHARS`` in a worker thread, so the
    instance's other requests go on."""
    if len(text) <= INLINE_CHARS:
        return to_html(text)
    return await asyncio.to_thread(to_html, text)
