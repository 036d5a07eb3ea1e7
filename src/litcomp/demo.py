"""``litcomp demo``: fill an empty, running platform with sample data (demo_content.py).

Everything goes through the gateway's public API, as a client would: the writers sign
up and log in, the admin (made by ``litcomp create-admin``'s code, the one way an admin
comes to be) creates the competitions, the writers enter, like and comment. Nothing is
written behind the services' backs, so competitions in every phase come from their
dates: the "finished" and "voting" ones are created with entries closing
``phase_seconds`` from now (and the finished ones' voting after as long again); the
demo enters and likes while each phase allows it, waits for the phases to end, and
asks for the results, which finalizes them as it does for anyone (lifecycle.py).

A platform with any competition or writer is refused: sample data mixed with real
data could not be told apart.
"""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from litcomp.demo_content import ADMIN, CONTESTS, PASSWORD, WRITERS, Contest

WAIT_SECONDS = 60.0  # at most, for the platform to be ready or its limits to allow more
RESULTS_WAIT_SECONDS = 30.0


class NotEmpty(Exception):
    """The platform already has data; the message says what."""


def email_of(username: str) -> str:
    return f"{username.replace('.', '-')}@example.com"


class Client:
    """The public API, with tokens by username; waits out a 429 or 503 as its
    Retry-After says."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    def call(self, method: str, path: str, *, who: str | None = None, **body: Any) -> Any:
        headers = {"Accept": "application/json"}
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())  # a retried POST creates once
        give_up = time.monotonic() + WAIT_SECONDS
        while True:
            response = self._http.request(
                method, path, headers=headers, json=body if body else None
            )
            # 429: too fast for the gateway's limits; 503: no instance ready yet (a
            # platform just started). Both say when to come back.
            if response.status_code not in (429, 503) or time.monotonic() > give_up:
                break
            time.sleep(_seconds(response.headers.get("retry-after")))
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def log_in(self, username: str) -> None:
        login = self.call("POST", "/users/login", email=email_of(username), password=PASSWORD)
        self.tokens[username] = login["token"]
        self.ids[username] = login["user_id"]


def refuse_unless_empty(http: httpx.Client) -> None:
    """Raise NotEmpty if the platform has any competition."""
    found = Client(http).call("GET", "/competitions?status=all&limit=1")
    if found:
        raise NotEmpty(
            "litcomp demo fills an empty platform only, and this one has competitions"
            " already: sample data would mix with real data"
        )


def fill(
    http: httpx.Client, *, phase_seconds: float = 6.0, say: Callable[[str], None] = print
) -> None:
    """Writers, competitions in every phase, entries, likes, comments and results.
    The admin ``ADMIN`` must exist (``litcomp create-admin``); takes about twice
    ``phase_seconds``, plus the time to finalize."""
    client = Client(http)
    client.log_in(ADMIN.username)
    for writer in WRITERS:
        client.call(
            "POST",
            "/users/register",
            username=writer.username,
            email=email_of(writer.username),
            password=PASSWORD,
        )
        client.log_in(writer.username)
        client.call("PATCH", "/users/profile", who=writer.username, bio=writer.bio)
    say(f"demo: {len(WRITERS)} writers signed up (password {PASSWORD!r})")

    now = datetime.now(UTC)
    entries_close = now + timedelta(seconds=phase_seconds)
    voting_ends = entries_close + timedelta(seconds=phase_seconds)
    made = [
        (contest, create(client, contest, now, entries_close, voting_ends)) for contest in CONTESTS
    ]
    say(f"demo: {len(made)} competitions created")

    entered: dict[tuple[str, str], str] = {}
    for contest, competition in made:
        for story in contest.stories:
            answer = client.call(
                "POST",
                f"/competitions/{competition}/submit",
                who=story.writer,
                title=story.title,
                content=story.content,
            )
            entered[competition, story.title] = answer["submission_id"]
            comment(client, competition, answer["submission_id"], story.comments)
    likes_now = [(c, id_) for c, id_ in made if c.phase in ("finished", "open") and not c.voting]
    like(client, likes_now, entered)
    say(f"demo: {len(entered)} stories entered; waiting {phase_seconds:g} s for entries to close")

    _sleep_until(entries_close)
    like(
        client,
        [(c, id_) for c, id_ in made if c.phase in ("finished", "voting") and c.voting],
        entered,
    )
    _sleep_until(voting_ends)
    for contest, competition in made:
        if contest.phase == "finished":
            results(client, competition)
    say("demo: finished competitions have their results; the platform is ready to explore")


def create(
    client: Client, contest: Contest, now: datetime, entries_close: datetime, voting_ends: datetime
) -> str:
    """The competition, dated so that it is in ``contest.phase`` once the demo is done."""
    day = timedelta(days=1)
    if contest.phase == "upcoming":
        start, end, voting_end = now + 2 * day, now + 9 * day, None
    elif contest.phase == "open":
        start, end = now - day, now + 5 * day
        voting_end = now + 12 * day if contest.voting else None
    elif contest.phase == "voting":
        start, end, voting_end = now - 2 * day, entries_close, now + 4 * day
    else:  # finished: its entries close, then its voting ends, while the demo waits
        start, end = now - 3 * day, entries_close
        voting_end = voting_ends if contest.voting else None
    fields: dict[str, Any] = {
        "title": contest.title,
        "description": contest.description,
        "prompt": contest.prompt,
        "tags": list(contest.tags),
        "anonymous": contest.anonymous,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "voting_end_date": voting_end.isoformat() if voting_end else None,
        "word_max": contest.word_max,
    }
    return str(client.call("POST", "/competitions", who=ADMIN.username, **fields)["competition_id"])


def comment(
    client: Client, competition: str, submission: str, comments: tuple[tuple[str, str], ...]
) -> None:
    """The first comment, and the rest as replies to it."""
    parent = None
    for writer, words in comments:
        fields: dict[str, Any] = {"content": words}
        if parent:
            fields["parent_id"] = parent
        answer = client.call(
            "POST", f"/competitions/{competition}/comment/{submission}", who=writer, **fields
        )
        parent = parent or answer["comment_id"]


def like(
    client: Client, made: list[tuple[Contest, str]], entered: dict[tuple[str, str], str]
) -> None:
    for contest, competition in made:
        for story in contest.stories:
            for reader in story.liked_by:
                submission = entered[competition, story.title]
                client.call("POST", f"/competitions/{competition}/like/{submission}", who=reader)


def results(client: Client, competition: str) -> None:
    """Ask for the results until they are written (each ask finalizes if it is due)."""
    deadline = time.monotonic() + RESULTS_WAIT_SECONDS
    while True:
        try:
            client.call("GET", f"/competitions/{competition}/results")
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _seconds(retry_after: str | None) -> float:
    """Retry-After in seconds (the gateway sends a number), 1 if it says nothing usable."""
    try:
        return min(max(float(retry_after or 1), 0.1), 30.0)
    except ValueError:
        return 1.0


def _sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.5)
