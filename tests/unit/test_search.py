"""kit.search's pure parts: what FTS5 is asked, and how a snippet becomes safe HTML."""

import pytest

from litcomp.kit.search import MARK_END, MARK_START, fts5_query, is_search_object, marked_html


@pytest.mark.parametrize(
    ("typed", "fts5"),
    [
        ("sea", '("sea")'),
        ("sea storm", '("sea" AND "storm")'),
        ('"old sea" storm', '("old sea" AND "storm")'),
        ("sea -storm", '("sea" NOT "storm")'),
        ("sea or storm calm", '("sea") OR ("storm" AND "calm")'),
        ('say "hi', '("say" AND "hi")'),
        ('a"b', '("a""b")'),
        ("NEAR(a b)", '("NEAR(a" AND "b)")'),
        ("-storm", None),
        ("or", None),
        ("!!! ...", None),
        ("", None),
        ("sea or -storm", '("sea")'),
        ("café ✍ 東京", '("café" AND "東京")'),
    ],
)
def test_typed_words_become_an_fts5_query_of_quoted_strings(typed: str, fts5: str | None):
    assert fts5_query(typed) == fts5


@pytest.mark.parametrize(
    ("snippet", "html"),
    [
        (f"the {MARK_START}sea{MARK_END} rose", "the <mark>sea</mark> rose"),
        (
            f"<script>{MARK_START}x{MARK_END}</script>",
            "&lt;script&gt;<mark>x</mark>&lt;/script&gt;",
        ),
        (f'"a" & {MARK_START}b', "&quot;a&quot; &amp; <mark>b</mark>"),
        (f"b{MARK_END} c {MARK_START}{MARK_START}d", "b c <mark>d</mark>"),
        ("<mark>typed</mark>", "&lt;mark&gt;typed&lt;/mark&gt;"),
    ],
)
def test_snippets_are_escaped_text_and_balanced_marks(snippet: str, html: str):
    assert marked_html(snippet) == html


def test_the_search_objects_are_left_out_of_the_models_comparison():
    assert is_search_object("search_vector", "column")
    assert is_search_object("ix_submissions_search_vector", "index")
    assert is_search_object("search_submissions_data", "table")
    assert not is_search_object("submissions", "table")
    assert not is_search_object("title", "column")
