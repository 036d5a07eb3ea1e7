"""litcomp.competitions.markdown: what a writer's Markdown becomes, and what it never does."""

import re
import time
from html.parser import HTMLParser

import pytest

from litcomp.competitions.markdown import (
    INLINE_CHARS,
    LINK_REL,
    MAX_NESTING,
    TAGS,
    rendered,
    to_html,
)

REL = f'rel="{LINK_REL}"'


class _Markup(HTMLParser):
    """The tags, attributes and link addresses in a piece of HTML, as a browser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.hrefs: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            self.attributes.add(f"{tag}.{name}")
            if name == "href":
                self.hrefs.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        self.tags.add(tag)


ALLOWED_ATTRIBUTES = {"a.href", "a.title", "a.rel", "ol.start"}


# Each one is refused by markdown-it (HTML off, bad link schemes) and, behind it, by
# nh3's allow-list.
ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "before <script>alert(1)</script> inline",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)"/>',
    "text <b onmouseover=alert(1)>bold</b>",
    "<div>\n<script>alert(1)</script>\n</div>",  # an HTML block
    "<!-- <script>alert(1)</script> -->",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<svg onload=alert(1)><circle/></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    "<a href=javascript:alert(1)>raw link</a>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=javascript:alert(1)//>",
    "<link rel=stylesheet href=javascript:alert(1)>",
    "[link](javascript:alert(1))",
    "[link](JaVaScRiPt:alert(1))",
    "[link]( javascript:alert(1) )",
    "[link](<javascript:alert(1)>)",
    "[link](java&#115;cript:alert(1))",
    "[link](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1))",
    "[link](&#x6A;avascript:alert(1))",
    "[link](java\tscript:alert(1))",
    "[link](javascript&colon;alert(1))",
    "[link](vbscript:msgbox(1))",
    "[link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[link](data:image/png;base64,iVBORw0KGgo=)",
    "[link](file:///etc/passwd)",
    '[link](http://example.com "title" onclick="alert(1)")',
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "![x](javascript:alert(1))",
    "![x](http://example.com/x.png)",
    '![x" onerror="alert(1)](http://example.com/x.png)',
    "![<img src=x onerror=alert(1)>](x.png)",
    "[![img](x.png)](javascript:alert(1))",
    "```html\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    "    <script>alert(1)</script>",
    "> <script>alert(1)</script>",
    "- <img src=x onerror=alert(1)>",
    '<https://example.com/"onmouseover="alert(1)>',
    '[x](https://example.com/"onmouseover="alert(1))',
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_nothing_a_writer_types_can_run(attack: str) -> None:
    html = to_html(attack)
    markup = _Markup(html)
    assert markup.tags <= TAGS, html
    assert markup.attributes <= ALLOWED_ATTRIBUTES, html
    assert all(re.match(r"(https?|mailto):", href) for href in markup.hrefs), html
    assert re.findall(r'rel="([^"]*)"', html) == [LINK_REL] * html.count("<a "), html


@pytest.mark.parametrize(
    "typed",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "a <b>bold</b> claim",
    ],
)
def test_html_typed_in_the_text_shows_as_the_text(typed: str) -> None:
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert to_html(typed) == f"<p>{escaped}</p>\n"


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("*italics* and _italics_", "<p><em>italics</em> and <em>italics</em></p>\n"),
        (
            "**strong** and __strong__",
            "<p><strong>strong</strong> and <strong>strong</strong></p>\n",
        ),
        ("***both***", "<p><em><strong>both</strong></em></p>\n"),
        ("# One\n## Two\n###### Six", "<h1>One</h1>\n<h2>Two</h2>\n<h6>Six</h6>\n"),
        (
            "> a quote\n> on two lines",
            "<blockquote>\n<p>a quote<br>\non two lines</p>\n</blockquote>\n",
        ),
        ("> > nested", "<blockquote>\n<blockquote>\n<p>nested</p>\n</blockquote>\n</blockquote>\n"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"),
        ("* one\n* two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>\n'),
        # scene breaks
        ("Before.\n\n***\n\nAfter.", "<p>Before.</p>\n<hr>\n<p>After.</p>\n"),
        ("Before.\n\n---\n\nAfter.", "<p>Before.</p>\n<hr>\n<p>After.</p>\n"),
        ("* * *", "<hr>\n"),
        # code
        ("`inline <code>`", "<p><code>inline &lt;code&gt;</code></p>\n"),
        ("```python\nx = 1 < 2\n```", "<pre><code>x = 1 &lt; 2\n</code></pre>\n"),
        # prose: line breaks are kept, an indented line is a paragraph, not code
        ("A line\nand the next", "<p>A line<br>\nand the next</p>\n"),
        ("One.\n\nTwo.", "<p>One.</p>\n<p>Two.</p>\n"),
        ("    An indented paragraph.", "<p>An indented paragraph.</p>\n"),
        ("\tTabbed, too.", "<p>Tabbed, too.</p>\n"),
        # links: http, https and mailto keep their address, anything else loses it
        (
            "[site](https://example.com/a?b=c)",
            f'<p><a href="https://example.com/a?b=c" {REL}>site</a></p>\n',
        ),
        (
            "<http://example.com>",
            f'<p><a href="http://example.com" {REL}>http://example.com</a></p>\n',
        ),
        ("[me](mailto:me@example.com)", f'<p><a href="mailto:me@example.com" {REL}>me</a></p>\n'),
        ("[here](/users/profile)", f"<p><a {REL}>here</a></p>\n"),
        ("[there](//example.com)", f"<p><a {REL}>there</a></p>\n"),
        (
            '[t](https://example.com "a title")',
            f'<p><a href="https://example.com" title="a title" {REL}>t</a></p>\n',
        ),
        # images are their alt text
        ("![A *lighthouse* at night](https://example.com/l.png)", "<p>A lighthouse at night</p>\n"),
        ("![](https://example.com/l.png)", "<p></p>\n"),
        # escapes, entities and odd characters are text
        (r"\*not emphasis\*", "<p>*not emphasis*</p>\n"),
        ("&copy; &amp; &#x1F600;", "<p>© &amp; 😀</p>\n"),
        (
            "e\u0301 \u202eevil\u202c \u200b 👨‍👩‍👧",
            "<p>e\u0301 \u202eevil\u202c \u200b 👨‍👩‍👧</p>\n",
        ),
        ("NUL \x00 here", "<p>NUL \ufffd here</p>\n"),
        ("", ""),
        ("   \n\n  ", ""),
    ],
)
def test_what_renders(markdown: str, html: str) -> None:
    assert to_html(markdown) == html


def test_deep_nesting_stops_at_the_limit() -> None:
    html = to_html(">" * 10_000 + " deep")
    assert html.count("<blockquote>") == MAX_NESTING
    html = to_html("- " * 10_000 + "deep")
    assert html.count("<ul>") <= MAX_NESTING
    html = to_html("".join("  " * depth + "- item\n" for depth in range(440)))  # 196,240 chars
    assert html.count("<ul>") <= MAX_NESTING


@pytest.mark.parametrize(
    "text",
    [
        ">" * 200_000,
        "> " * 100_000,
        "- " * 100_000,
        "*" * 200_000,
        "_a" * 100_000,
        "`" * 200_000,
        "[" * 200_000,
        "<" * 200_000,
        "\\" * 200_000,
        "&#" * 100_000,
        "\u0301" * 200_000,
        "\U0001f600" * 200_000,
        "word " * 40_000,
    ],
    ids=lambda text: f"{text[:4]!r}x{len(text)}",
)
def test_the_longest_odd_input_renders(text: str) -> None:
    """200,000 characters of whatever: rendered, no error, in bounded time (markdown-it
    is linear; the bound is generous for a busy CI machine)."""
    start = time.perf_counter()
    html = to_html(text)
    assert time.perf_counter() - start < 30
    assert _Markup(html).tags <= TAGS


@pytest.mark.parametrize("length", [INLINE_CHARS, INLINE_CHARS + 1])
async def test_short_text_renders_on_the_loop_and_long_in_a_thread_alike(length: int) -> None:
    text = ("*Word* " * length)[:length]
    assert await rendered(text) == to_html(text)
