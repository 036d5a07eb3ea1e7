"""The competition rules that need no database: phases, dates, placing."""

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from litcomp.kit.times import iso

EXCERPT_CHARS = 300


class Status(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"  # open for entries
    VOTING = "voting"
    FINISHED = "finished"


class Judging(StrEnum):
    """What places the entries. Likes always work; only in ``likes`` do they decide."""

    LIKES = "likes"  # the brief's: one like per reader, the most liked first
    JUDGES = "judges"  # named judges score each entry 1-10; the best mean first
    RANKED = "ranked"  # readers rank what they read; a Bradley-Terry fit (competitions.ranking)


class Action(StrEnum):
    ENTER = "enter"  # submit, and edit or withdraw an entry
    DRAFT = "draft"  # save a draft of an entry
    LIKE = "like"
    COMMENT = "comment"


@dataclass(frozen=True)
class Schedule:
    """A competition's phases: upcoming until ``start``, open for entries until ``end``,
    then voting until ``voting_end`` when there is one, then finished.

    Without a voting phase, likes come while entries do (the brief's competition);
    with one, likes wait for it.
    """

    start: datetime
    end: datetime
    voting_end: datetime | None = None

    @property
    def results_at(self) -> datetime:
        """When the last phase ends: places are written then."""
        return self.voting_end or self.end

    def status(self, now: datetime) -> Status:
        if now < self.start:
            return Status.UPCOMING
        if now < self.end:
            return Status.OPEN
        return Status.VOTING if now < self.results_at else Status.FINISHED

    def changes_at(self, now: datetime) -> datetime | None:
        """When the status next changes by itself (None once finished)."""
        return next((moment for moment in self._moments() if now < moment), None)

    def _moments(self) -> list[datetime]:
        return [self.start, self.end, *([self.voting_end] if self.voting_end else [])]

    def check(self) -> None:
        """Raises ValueError unless the phases follow each other."""
        if self.end <= self.start:
            raise ValueError("end_date must be after start_date")
        if self.voting_end is not None and self.voting_end <= self.end:
            raise ValueError("voting_end_date must be after end_date")


def refusal(
    action: Action, schedule: Schedule, *, comments_after_results: bool, now: datetime
) -> str | None:
    """Why ``action`` is not allowed now, saying which phase it is and when that
    changes; None when it is allowed."""
    status = schedule.status(now)
    if action is Action.DRAFT:  # drafting may start before the competition opens
        if status in (Status.UPCOMING, Status.OPEN):
            return None
        return f"entries closed at {iso(schedule.end)}; drafts are kept but not saved"
    if status is Status.UPCOMING:
        return f"the competition opens at {iso(schedule.start)}"
    if action is Action.ENTER and status is not Status.OPEN:
        return f"entries closed at {iso(schedule.end)}; the competition is {status.value}"
    if action is Action.LIKE and status is Status.OPEN and schedule.voting_end is not None:
        return f"likes open when voting starts at {iso(schedule.end)}"
    if status is Status.FINISHED and (action is Action.LIKE or not comments_after_results):
        what = "likes" if action is Action.LIKE else "comments"
        return f"the competition finished at {iso(schedule.results_at)}; {what} are closed"
    return None


@dataclass(frozen=True)
class Veil:
    """What a competition hides until its results. An anonymous one (as AO3's anonymous
    collections and WriteOff do) hides who wrote each entry, from everyone but the
    author and admins; it, and one judged otherwise than by likes (where likes are not
    the vote, and counts would sway the judges and voters), hide how many likes entries
    have, from everyone, authors and admins included. Nothing is hidden once results are out."""

    active: bool  # authors hidden
    viewer_id: uuid.UUID | None = None
    viewer_is_admin: bool = False
    hides_likes: bool = False

    @classmethod
    def over(
        cls,
        *,
        anonymous: bool,
        status: Status,
        viewer_id: uuid.UUID | None,
        viewer_is_admin: bool = False,
        judging: Judging = Judging.LIKES,
    ) -> "Veil":
        running = status is not Status.FINISHED
        return cls(
            anonymous and running,
            viewer_id,
            viewer_is_admin,
            hides_likes=running and (anonymous or judging is not Judging.LIKES),
        )

    def hides_author(self, author_id: uuid.UUID) -> bool:
        return self.active and not self.viewer_is_admin and author_id != self.viewer_id


@dataclass(frozen=True)
class WordLimitBroken:
    kind: str  # "too_few_words" or "too_many_words"
    count: int
    limit: int

    @property
    def message(self) -> str:
        bound = "at least" if self.kind == "too_few_words" else "at most"
        return f"has {self.count:,} words; this competition takes {bound} {self.limit:,}"


def word_limit_broken(
    count: int, word_min: int | None, word_max: int | None
) -> WordLimitBroken | None:
    """The limit an entry of ``count`` words breaks, if any (None: no limit)."""
    if word_min is not None and count < word_min:
        return WordLimitBroken("too_few_words", count, word_min)
    if word_max is not None and count > word_max:
        return WordLimitBroken("too_many_words", count, word_max)
    return None


def judging_fixed(schedule: Schedule, now: datetime) -> str | None:
    """Why a competition's judging can no longer change (None while it can): once the
    votes or scores it counts may be cast, changing what counts would void them."""
    status = schedule.status(now)
    votes_open = refusal(Action.LIKE, schedule, comments_after_results=True, now=now) is None
    if votes_open or status is Status.FINISHED:
        return f"judging cannot change once voting has started; the competition is {status.value}"
    return None


def check_reschedule(old: Schedule, new: Schedule, *, now: datetime) -> None:
    """May an admin move a competition's dates? Raises ValueError saying why not.

    What has happened stays history: once open its start cannot move, once voting its
    end cannot either, and a phase still running may only end at a time still ahead.
    A finished competition is not rescheduled at all (the caller refuses earlier).
    """
    new.check()
    status = old.status(now)
    if status in (Status.OPEN, Status.VOTING) and new.start != old.start:
        raise ValueError("start_date cannot change once the competition is open")
    if status is Status.OPEN and new.end <= now:
        raise ValueError("end_date of an open competition must be in the future")
    if status is Status.VOTING:
        if new.end != old.end:
            raise ValueError("end_date cannot change once voting has started")
        if new.voting_end is None or new.voting_end <= now:
            raise ValueError("voting_end_date of a competition in voting must be in the future")


BALLOT_MIN = 3


def ballot_problem(
    ballot: Sequence[uuid.UUID], entries: Collection[uuid.UUID], own: Collection[uuid.UUID]
) -> tuple[str, str] | None:
    """What is wrong with a ranked ballot, as (type, message), or None: it ranks at
    least ``BALLOT_MIN`` of the competition's ``entries``, each once, none the voter's."""
    if len(ballot) < BALLOT_MIN:
        return "too_short", f"rank at least {BALLOT_MIN} entries"
    if len(set(ballot)) != len(ballot):
        return "duplicate", "each entry may be ranked only once"
    if any(entry in own for entry in ballot):
        return "own_entry", "you cannot rank your own entry"
    unknown = [str(entry) for entry in ballot if entry not in entries]
    if unknown:
        return "unknown_entry", f"not entries of this competition: {', '.join(unknown)}"
    return None


class Entry(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def like_count(self) -> int: ...

    @property
    def created_at(self) -> datetime: ...


E = TypeVar("E", bound=Entry)


@dataclass(frozen=True)
class Place(Generic[E]):
    place: int
    tied: bool  # another entry has the same place
    entry: E


def _likes(entry: Entry) -> float:
    return entry.like_count


def placed(entries: Sequence[E], score: Callable[[E], float] = _likes) -> list[Place[E]]:
    """Entries with their places, the highest ``score`` (by default, the most likes)
    first, by standard competition ranking ("1, 2, 2, 4"): equal scores share a place,
    and the places after skip as many as shared it. With no likes at all, every entry
    is tied for 1st.

    Within a shared place entries are listed oldest first (then by id), an order for
    reading, not a rank.
    """
    ordered = sorted(entries, key=lambda e: (-score(e), e.created_at, e.id))
    sharing = Counter(score(e) for e in entries)
    places: list[Place[E]] = []
    for index, entry in enumerate(ordered):
        shared = index > 0 and score(ordered[index - 1]) == score(entry)
        place = places[-1].place if shared else index + 1
        places.append(Place(place, sharing[score(entry)] > 1, entry))
    return places


@dataclass(frozen=True)
class Unread:
    """What the reading queue knows of an entry: its likes, and whether this reader has
    opened it or liked it."""

    id: uuid.UUID
    like_count: int
    read: bool = False
    liked: bool = False


def queue_tiebreak(reader_id: uuid.UUID, competition_id: uuid.UUID, entry_id: uuid.UUID) -> bytes:
    """A pseudo-random sort key for an entry, the same for one reader in one competition
    on every request and every replica (Python's ``hash`` is salted per process), and
    unrelated between readers: so readers do not all start on the same entries."""
    seed = reader_id.bytes + competition_id.bytes + entry_id.bytes
    return hashlib.blake2b(seed, digest_size=8).digest()


def like_bucket(likes: int) -> int:
    """Likes in buckets doubling in width: 0 | 1 | 2-3 | 4-7 | 8-15 | ..."""
    return likes.bit_length()


def reading_queue(
    entries: Sequence[Unread],
    *,
    reader_id: uuid.UUID,
    competition_id: uuid.UUID,
    likes_hidden: bool,
) -> list[uuid.UUID]:
    """The order in which ``reader_id`` is offered ``entries`` (their own left out by the
    caller): those they have neither opened nor liked first; then fewest likes first;
    ties in an order of their own (``queue_tiebreak``). Entries read by few get read,
    rather than the first of a list everyone sees alike (as WriteOff hands each voter
    the least-voted entries first, in random order).

    ``likes_hidden`` (an anonymous competition before its results): the order must not
    tell what the counts hide. By exact count, a reader who sees the tail of a fresh
    queue knows which entries lead, and two accounts (whose tie orders differ) can tell
    apart which entries share a count, and a sock puppet's like moves an entry past
    exactly the entries one below it. In buckets doubling in width (``like_bucket``),
    the tie order mixes the entries of a bucket, so the queue says only "no likes",
    "one", "two or three", ... and the leaders, whose counts are what the veil guards
    most (they would draw the bandwagon), sit shuffled in one wide bucket. Fairness is
    kept where it matters: entries nobody liked still come first. WriteOff orders by
    exact (hidden) vote count; we take the coarser order for the small price above.
    """

    def key(entry: Unread) -> tuple[bool, int, bytes, bytes]:
        likes = like_bucket(entry.like_count) if likes_hidden else entry.like_count
        seen = entry.read or entry.liked
        return seen, likes, queue_tiebreak(reader_id, competition_id, entry.id), entry.id.bytes

    return [entry.id for entry in sorted(entries, key=key)]
