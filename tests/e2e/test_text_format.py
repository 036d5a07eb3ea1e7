"""Entries and comments as Markdown, and their word counts, through the gateway: what
the API answers (competitions and users), on PostgreSQL with real processes."""

import time

import httpx

from litcomp.competitions.words import word_count
from tests.support import Account, create_competition, expect_error

STORY = """# The last train

It left at *midnight*, and **nobody** saw it go.
The station's well-known clock said so.

> Trains don't wait.

***

<script>alert('x')</script> <img src=x onerror=alert(1)>
[a link](javascript:alert(1)) and [a real one](https://example.com/trains).
![the station at night](https://example.com/station.png)
"""
STORY_WORDS = word_count(STORY)  # tests/unit/test_words.py says what a word is


def _submit(client: httpx.Client, competition: str, author: Account, content: str) -> str:
    response = client.post(
        f"/competitions/{competition}/submit",
        json={"title": "Night trains", "content": content},
        headers=author.auth,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["submission_id"])


def test_an_entry_is_stored_as_written_and_shown_as_safe_html(
    competitions: httpx.Client, users: httpx.Client, admin: Account, writer: Account
):
    competition = create_competition(competitions, admin, "Markdown")
    entry_id = _submit(competitions, competition, writer, STORY)

    entry = competitions.get(f"/competitions/{competition}/submissions/{entry_id}").json()
    assert entry["content"] == STORY
    assert entry["word_count"] == STORY_WORDS
    html = entry["content_html"]
    assert html.startswith("<h1>The last train</h1>\n<p>It left at <em>midnight</em>, and")
    assert "<strong>nobody</strong> saw it go.<br>\nThe station" in html
    assert "<blockquote>\n<p>Trains don't wait.</p>\n</blockquote>" in html
    assert "<hr>" in html
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;" in html
    assert "[a link](javascript:alert(1))" in html  # not a link at all
    assert (
        '<a href="https://example.com/trains" rel="nofollow noopener noreferrer ugc">'
        "a real one</a>" in html
    )
    assert "<br>\nthe station at night</p>" in html  # an image is its alt text
    assert "<script" not in html and "<img" not in html

    listed = competitions.get(f"/competitions/{competition}/submissions").json()["items"]
    assert [(e["submission_id"], e["word_count"]) for e in listed] == [(entry_id, STORY_WORDS)]
    mine = users.get("/users/profile/submissions", headers=writer.auth).json()
    assert [(e["submission_id"], e["word_count"]) for e in mine] == [(entry_id, STORY_WORDS)]


def test_comments_are_markdown_too(
    competitions: httpx.Client, admin: Account, writer: Account, reader: Account
):
    competition = create_competition(competitions, admin, "Comments in Markdown")
    entry_id = _submit(competitions, competition, writer, "Short, *sharp*.")
    url = f"/competitions/{competition}/comment/{entry_id}"
    said = "I *loved* it <b onmouseover=alert(1)>really</b>\n\n- the ending\n- the train"
    first = competitions.post(url, json={"content": said}, headers=reader.auth)
    assert first.status_code == 201, first.text
    reply = "**Thank you**"
    answer = competitions.post(
        url, json={"content": reply, "parent_id": first.json()["comment_id"]}, headers=writer.auth
    )
    assert answer.status_code == 201, answer.text

    entry = competitions.get(f"/competitions/{competition}/submissions/{entry_id}").json()
    assert entry["content_html"] == "<p>Short, <em>sharp</em>.</p>\n"
    assert entry["word_count"] == 2
    [thread] = entry["comments"]
    assert thread["content"] == said
    assert thread["content_html"] == (
        "<p>I <em>loved</em> it &lt;b onmouseover=alert(1)&gt;really&lt;/b&gt;</p>\n"
        "<ul>\n<li>the ending</li>\n<li>the train</li>\n</ul>\n"
    )
    assert thread["replies"][0]["content_html"] == "<p><strong>Thank you</strong></p>\n"


def test_the_longest_entry_is_counted_and_rendered(
    competitions: httpx.Client, admin: Account, writer: Account
):
    competition = create_competition(competitions, admin, "Long reads")
    content = ("A *sentence* of prose, don't you think? " * 5000)[:200_000]
    entry_id = _submit(competitions, competition, writer, content)
    start = time.perf_counter()
    entry = competitions.get(f"/competitions/{competition}/submissions/{entry_id}")
    assert entry.status_code == 200, entry.text
    assert time.perf_counter() - start < 5  # the gateway's deadline
    assert entry.json()["word_count"] == 35_000
    assert entry.json()["content_html"].count("<em>sentence</em>") == 5000


def test_markup_alone_is_an_entry_of_no_words(
    competitions: httpx.Client, admin: Account, writer: Account
):
    competition = create_competition(competitions, admin, "Scene breaks only")
    entry_id = _submit(competitions, competition, writer, "***")
    entry = competitions.get(f"/competitions/{competition}/submissions/{entry_id}").json()
    assert (entry["word_count"], entry["content_html"]) == (0, "<hr>\n")
    blank = competitions.post(
        f"/competitions/{competition}/submit",
        json={"title": "Blank", "content": " \n\t "},
        headers=writer.auth,
    )
    expect_error(blank, 422)


def test_an_edit_is_counted_and_rendered_again(
    competitions: httpx.Client, users: httpx.Client, admin: Account, writer: Account
):
    competition = create_competition(competitions, admin, "Second thoughts")
    entry_id = _submit(competitions, competition, writer, "Two words")
    url = f"/competitions/{competition}/submissions/{entry_id}"
    title_only = competitions.patch(url, json={"title": "Renamed"}, headers=writer.auth)
    assert title_only.status_code == 200, title_only.text
    assert (title_only.json()["word_count"], title_only.json()["content_html"]) == (
        2,
        "<p>Two words</p>\n",
    )

    edited = competitions.patch(
        url, json={"content": "Now *three* words"}, headers=writer.auth
    ).json()
    assert (edited["word_count"], edited["content_html"]) == (
        3,
        "<p>Now <em>three</em> words</p>\n",
    )
    assert competitions.get(url).json()["word_count"] == 3
    listed = competitions.get(f"/competitions/{competition}/submissions").json()["items"]
    assert [e["word_count"] for e in listed] == [3]
    mine = users.get("/users/profile/submissions", headers=writer.auth).json()
    assert [e["word_count"] for e in mine] == [3]
