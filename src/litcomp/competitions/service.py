"""The rules of the competitions service: no HTTP here, only sessions and domain errors.

Each write is one transaction. The writes' docstrings count their round trips to
PostgreSQL (BEGIN and COMMIT included: each is one); an ``Idempotency-Key`` adds one,
its claim (a repeat: a ROLLBACK and a SELECT instead of the work). On SQLite the same
statements run, less the row locks (a writing transaction takes the database's write
lock at BEGIN), and notifications take two (notifications/store.py).
"""

import dataclasses
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from litcomp.competitions.markdown import rendered
from litcomp.competitions.models import (
    RESULTS_AT,
    BallotEntry,
    Base,
    Comment,
    Competition,
    Draft,
    FanoutJob,
    Judge,
    Like,
    LikeNotice,
    Placement,
    Read,
    Submission,
    idempotency_keys,
)
from litcomp.competitions.notifications import store
from litcomp.competitions.notifications.schemas import (
    AboutComment,
    AboutEntry,
    CommentCreated,
    CommentReplied,
    Message,
    SubmissionCreated,
    SubmissionLiked,
    WriterPublished,
    type_name,
)
from litcomp.competitions.notifications.store import Notice, Recorded
from litcomp.competitions.rules import (
    EXCERPT_CHARS,
    Action,
    Judging,
    Schedule,
    Status,
    Unread,
    Veil,
    check_reschedule,
    judging_fixed,
    reading_queue,
    refusal,
    word_limit_broken,
)
from litcomp.competitions.schemas import StatusFilter, check_word_limits
from litcomp.competitions.words import word_count
from litcomp.kit.auth import Principal
from litcomp.kit.db import (
    CountedQuery,
    Prepared,
    UTCDateTime,
    columns,
    insert_ignore,
    rows,
    run,
    upsert,
)
from litcomp.kit.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from litcomp.kit.idempotency import IdempotencyKey, create_once
from litcomp.kit.times import iso, utcnow

M = TypeVar("M", bound=Base)
SubmissionSort = Literal["new", "top", "queue"]


# Built once (building it cost more than running it), ``now`` bound when it runs.
_SOONEST = sa.select(
    *(
        sa.func.min(sa.case((column > sa.bindparam("now", type_=UTCDateTime), column)))
        for column in (Competition.start_date, Competition.end_date, Competition.voting_end_date)
    )
)


async def next_change(*, session: AsyncSession) -> datetime | None:
    """The next start or end of any competition's phase: when lists by status change
    by themselves. One statement."""
    soonest = await session.execute(_SOONEST, {"now": utcnow()})
    return min((moment for moment in soonest.one() if moment is not None), default=None)


@dataclass(frozen=True)
class ListedCompetition:
    """What the competitions list shows of one: read as columns, not as an ORM object
    (a page of 20 ~1,650 -> ~1,200 us of CPU in a serial loop), without its prompt and rules."""

    id: uuid.UUID
    title: str
    description: str
    start_date: datetime
    end_date: datetime
    voting_end_date: datetime | None
    tags: list[str]
    word_min: int | None
    word_max: int | None
    anonymous: bool
    judging: str

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.start_date, self.end_date, self.voting_end_date)


_LISTED_COMPETITION = columns(Competition, ListedCompetition)


@dataclass(frozen=True)
class ShownCompetition(ListedCompetition):
    """What a competition's own page shows of it (GET /competitions/{id}), read as
    columns like the list's (``read_competition``)."""

    admin_id: uuid.UUID
    max_entries_per_user: int
    prompt: str
    rules: str
    comments_after_results: bool
    created_at: datetime


_SHOWN_COMPETITION = Prepared(
    sa.select(*columns(Competition, ShownCompetition)).where(
        Competition.id == sa.bindparam("competition_id")
    )
)


def status_of(competition: Competition | ListedCompetition, now: datetime | None = None) -> Status:
    return competition.schedule.status(now or utcnow())


def veil_of(competition: "Competition | EntryToReactTo", viewer: Principal | None) -> Veil:
    """What ``viewer`` (None: someone without a token) may not see of its entries now."""
    return _veil(competition.anonymous, competition.judging, competition.schedule, viewer)


def _veil(anonymous: bool, judging: str, schedule: Schedule, viewer: Principal | None) -> Veil:
    return Veil.over(
        anonymous=anonymous,
        judging=Judging(judging),
        status=schedule.status(utcnow()),
        viewer_id=viewer.user_id if viewer else None,
        viewer_is_admin=viewer is not None and viewer.is_admin,
    )


async def create_competition(
    *,
    session: AsyncSession,
    admin: Principal,
    fields: dict[str, Any],
    idempotency: IdempotencyKey | None = None,
) -> Competition:
    if not admin.is_admin:
        raise Forbidden("only admins can create competitions")

    async def create(competition_id: uuid.UUID) -> None:
        session.add(Competition(id=competition_id, admin_id=admin.user_id, **fields))

    competition_id = await create_once(session, idempotency_keys, idempotency, create)
    return await _get(session, Competition, competition_id)


async def update_competition(
    *, session: AsyncSession, actor: Principal, competition_id: uuid.UUID, changes: dict[str, Any]
) -> Competition:
    # Locked, so a finalize cannot happen between the checks below and the write.
    competition = await session.scalar(
        sa.select(Competition).where(Competition.id == competition_id).with_for_update()
    )
    if competition is None:
        raise NotFound("no such competition")
    if competition.admin_id != actor.user_id:
        raise Forbidden("only the competition's admin can edit it")
    if status_of(competition) is Status.FINISHED or competition.finalized_at is not None:
        raise Conflict("a finished competition cannot be edited", code="competition_finished")
    merged = {
        name: changes.get(name, getattr(competition, name))
        for name in ("start_date", "end_date", "voting_end_date", "word_min", "word_max")
    }
    try:
        check_reschedule(
            competition.schedule,
            Schedule(merged["start_date"], merged["end_date"], merged["voting_end_date"]),
            now=utcnow(),
        )
        check_word_limits(merged["word_min"], merged["word_max"])
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if changes.get("judging", competition.judging) != competition.judging:
        why = judging_fixed(competition.schedule, utcnow())
        if why is not None:
            raise Conflict(why, code="judging_fixed")
    for field, value in changes.items():
        setattr(competition, field, value)
    await session.commit()
    return competition


async def get_competition(*, session: AsyncSession, competition_id: uuid.UUID) -> Competition:
    competition = await session.scalar(_COMPETITION, {"competition_id": competition_id})
    if competition is None:
        raise NotFound("no such competition")
    return competition


async def read_competition(*, session: AsyncSession, competition_id: uuid.UUID) -> ShownCompetition:
    """A competition to show, as columns; for a change, ``get_competition``'s object."""
    found = await rows(session, _SHOWN_COMPETITION, {"competition_id": competition_id})
    if not found:
        raise NotFound("no such competition")
    return ShownCompetition(*found[0])


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _tagged(postgres: bool) -> sa.ColumnElement[bool]:
    """Competitions whose tags (a JSON array, case-folded) hold the ``tag`` parameter,
    in PostgreSQL's SQL or SQLite's."""
    tag = sa.bindparam("tag", type_=sa.String)
    if postgres:
        return sa.cast(Competition.tags, JSONB).contains(sa.func.jsonb_build_array(tag))
    each = sa.func.json_each(Competition.tags).table_valued("value")
    return sa.exists(sa.select(each.c.value).where(each.c.value == tag))


_NOW = sa.bindparam("now", type_=UTCDateTime)
_Filter = tuple[sa.ColumnElement[bool], ...]
_Order = tuple[sa.ColumnExpressionArgument[Any], ...]
# Each status's competitions, and their order: open (``active``) and voting ones end
# soonest first; upcoming start soonest first; finished ones newest first; all by
# start, newest first.
_OPEN: tuple[_Filter, _Order] = (
    (Competition.start_date <= _NOW, Competition.end_date > _NOW),
    (Competition.end_date, Competition.id),
)
_LISTINGS: dict[StatusFilter, tuple[_Filter, _Order]] = {
    "active": _OPEN,
    "open": _OPEN,
    "upcoming": ((Competition.start_date > _NOW,), (Competition.start_date, Competition.id)),
    "voting": (
        (Competition.end_date <= _NOW, Competition.voting_end_date > _NOW),
        (Competition.voting_end_date, Competition.id),
    ),
    "finished": ((_NOW >= RESULTS_AT,), (RESULTS_AT.desc(), Competition.id)),
    "all": ((), (Competition.start_date.desc(), Competition.id)),
}


@functools.cache
def _listing(status: StatusFilter, *, tagged: bool, postgres: bool) -> CountedQuery:
    """The pages of competitions in ``status`` (``now`` a parameter), built once; when
    ``tagged``, only those with the ``tag`` parameter."""
    where, order = _LISTINGS[status]
    if tagged:
        where = (*where, _tagged(postgres))
    query = sa.select(*_LISTED_COMPETITION).where(*where).order_by(*order)
    return CountedQuery(query, prepared=True)


async def list_competitions(
    *,
    session: AsyncSession,
    status: StatusFilter,
    limit: int,
    offset: int = 0,
    tag: str | None = None,
) -> tuple[list[ListedCompetition], int]:
    """A page of competitions (see ``_LISTINGS``), and how many there are in all. With
    ``tag``, only those tagged so."""
    pages = _listing(status, tagged=tag is not None, postgres=_is_postgres(session))
    params = {"now": utcnow(), "tag": tag}
    page, total = await pages.page(session, limit=limit, offset=offset, **params)
    return [ListedCompetition(*row) for row in page], total


async def get_competitions(
    *, session: AsyncSession, competition_ids: Sequence[uuid.UUID]
) -> list[Competition]:
    if not competition_ids:
        return []
    query = sa.select(Competition).where(Competition.id.in_(competition_ids))
    return list(await session.scalars(query))


async def competition_allowing(
    session: AsyncSession, competition_id: uuid.UUID, action: Action, *, lock: bool = False
) -> Competition:
    """The competition, if its phase allows ``action`` now. ``lock`` takes its row for
    update (entries); otherwise a key-share lock, so finalizing (which locks the row for
    update) waits for likes in flight and counts them, and likes that come after it
    see it finished."""
    query = _COMPETITION_FOR_UPDATE if lock else _COMPETITION_KEY_SHARED
    competition = await session.scalar(query, {"competition_id": competition_id})
    if competition is None:
        raise NotFound("no such competition")
    _check_phase(competition, action)
    return competition


_S = TypeVar("_S", bound=sa.Select[*tuple[Any, ...]])


def _locking_competition(query: _S, *, lock: bool) -> _S:
    """``query`` locking the competition's row (only it): see competition_allowing."""
    if lock:
        return query.with_for_update(of=Competition)
    return query.with_for_update(read=True, key_share=True, of=Competition)


# The hot statements, of the reads and of the writes, are built once, their values bound
# when they run: building a statement and its cache key costs 50-150 us of CPU, as much
# as sending it.
_COMPETITION = sa.select(Competition).where(Competition.id == sa.bindparam("competition_id"))
_COMPETITION_FOR_UPDATE = _locking_competition(_COMPETITION, lock=True)
_COMPETITION_KEY_SHARED = _locking_competition(_COMPETITION, lock=False)


def _check_phase(
    competition: "Competition | ShownCompetition | EntryToReactTo", action: Action
) -> None:
    now = utcnow()
    schedule = competition.schedule
    why = refusal(
        action, schedule, comments_after_results=competition.comments_after_results, now=now
    )
    if why is not None:
        changes = schedule.changes_at(now)
        raise Conflict(
            why,
            code="wrong_phase",
            details={
                "status": schedule.status(now).value,
                "changes_at": iso(changes) if changes else None,
            },
        )


async def submit(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    title: str,
    content: str,
    idempotency: IdempotencyKey | None = None,
    require_verified_email: bool = False,
) -> uuid.UUID:
    """Enter a story; returns the entry's id (a replay of its ``idempotency`` key: the
    first request's, even of an entry withdrawn since). Its subscribers are told by the
    fan-out worker (fanout.py), from a job written in this same transaction. When
    ``require_verified_email``, only an author whose token says their address is
    verified may.

    6 round trips, 7 with a draft to delete: BEGIN; the competition's row locked
    (SELECT ... FOR UPDATE); the author's entries, whether they judge and whether they
    have a draft (one SELECT); INSERT the entry; DELETE the draft; INSERT the fan-out
    jobs (one statement: the entry's, and the followers' unless it is anonymous); COMMIT.
    The fan-out then costs each job BEGIN, DELETE ... RETURNING, the notices (one
    statement, if anyone is told) and COMMIT, and a share of one poll for up to 100 jobs.
    """
    if require_verified_email and not actor.email_verified:
        raise Forbidden(
            "verify your email address before entering a competition", code="email_unverified"
        )
    author_id = actor.user_id
    content_html = await rendered(content)  # before the competition's row is locked
    words = word_count(content)

    async def create(submission_id: uuid.UUID) -> None:
        # Locking the competition row makes concurrent entries to it take turns, so the
        # entry limit holds even when one author's entries race (SQLite: every write
        # transaction takes the database lock at BEGIN, see kit.db).
        competition = await _competition_to_enter(session, competition_id)
        # A statement of its own, after the lock: each statement reads what was committed
        # when it started, so a count in the locking one could miss an entry committed
        # while it waited for the lock.
        where = {"competition_id": competition_id, "author_id": author_id}
        entries, judge, draft = (await rows(session, _IN_THE_WAY, where))[0]
        if judge:
            raise Forbidden("a judge cannot enter the competition they judge", code="judge")
        if entries >= competition.max_entries_per_user:
            raise Conflict(
                f"at most {competition.max_entries_per_user} entries per person here",
                code="entry_limit_reached",
            )
        _check_word_limits(competition, words)
        entry = {"id": submission_id, "title": title, "word_count": words, **where}
        await run(
            session, _INSERT_ENTRY, {**entry, "content": content, "content_html": content_html}
        )
        if draft:
            await _forget_draft(session, author_id, competition_id)
        about = _about(
            competition_id=competition_id,
            competition_title=competition.title,
            submission_id=submission_id,
            submission_title=title,
            actor=actor,
            hidden=competition.anonymous,
        )
        jobs = [_fanout_job(SubmissionCreated, about, author_id=author_id)]
        if not competition.anonymous:  # an anonymous one's are told at its results
            jobs.append(writer_published(competition, submission_id, title, author_id))
        await run(session, _INSERT_JOBS, jobs)

    return await create_once(session, idempotency_keys, idempotency, create)


async def _competition_to_enter(
    session: AsyncSession, competition_id: uuid.UUID
) -> ShownCompetition:
    """The competition, its row locked for update, if it can be entered now: as
    ``competition_allowing(..., lock=True)``, read as columns."""
    found = await rows(session, _SHOWN_COMPETITION_FOR_UPDATE, {"competition_id": competition_id})
    if not found:
        raise NotFound("no such competition")
    competition = ShownCompetition(*found[0])
    _check_phase(competition, Action.ENTER)
    return competition


_SHOWN_COMPETITION_FOR_UPDATE = _SHOWN_COMPETITION.statement.with_for_update(of=Competition)
_INSERT_ENTRY = sa.insert(Submission)
# RETURNING makes SQLAlchemy send the jobs as one multi-row INSERT (its "insertmanyvalues",
# as the ORM did), not one INSERT a job: one statement on both dialects.
_INSERT_JOBS = sa.insert(FanoutJob).returning(FanoutJob.id)


def _in_the_way() -> sa.Select[int, bool, bool]:
    """How many entries the author has in the competition, whether they judge it, and
    whether they have a draft for it (deleted on entering), in one statement."""
    competition_id = sa.bindparam("competition_id", type_=sa.Uuid())
    author_id = sa.bindparam("author_id", type_=sa.Uuid())
    entries = sa.select(sa.func.count()).where(
        Submission.competition_id == competition_id, Submission.author_id == author_id
    )
    judge = sa.exists().where(Judge.competition_id == competition_id, Judge.user_id == author_id)
    draft = sa.exists().where(Draft.competition_id == competition_id, Draft.author_id == author_id)
    return sa.select(entries.scalar_subquery(), judge, draft)


_IN_THE_WAY = Prepared(_in_the_way())


async def _own_entry_while_open(
    session: AsyncSession, actor: Principal, competition_id: uuid.UUID, submission_id: uuid.UUID
) -> tuple[Competition, Submission]:
    """The actor's entry, with its competition's row locked while it is open for
    entries: an edit or withdrawal racing the end lands before it or is refused."""
    submission = await get_submission(
        session=session, competition_id=competition_id, submission_id=submission_id
    )
    if submission.author_id != actor.user_id:
        raise Forbidden("only its author can change or withdraw an entry")
    competition = await competition_allowing(session, competition_id, Action.ENTER, lock=True)
    return competition, submission


async def edit_submission(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    changes: dict[str, str],
) -> Submission:
    """Its author changes an entry's title and/or content while entries are open."""
    if "content" in changes:  # rendered before the competition's row is locked
        changes = {**changes, "content_html": await rendered(changes["content"])}
    competition, submission = await _own_entry_while_open(
        session, actor, competition_id, submission_id
    )
    for field, value in changes.items():
        setattr(submission, field, value)
    _check_word_limits(competition, submission.word_count)
    submission.edited_at = utcnow()
    await session.commit()
    return submission


def _check_word_limits(competition: Competition | ShownCompetition, words: int) -> None:
    broken = word_limit_broken(words, competition.word_min, competition.word_max)
    if broken is None:
        return
    issue = {"location": "body.content", "message": broken.message, "type": broken.kind}
    raise Invalid(
        f"content {broken.message}",
        details=[{**issue, "count": broken.count, "limit": broken.limit}],
    )


async def withdraw_submission(
    *, session: AsyncSession, actor: Principal, competition_id: uuid.UUID, submission_id: uuid.UUID
) -> None:
    """Its author takes an entry back while entries are open; its likes and comments
    go with it (the database cascades)."""
    _, submission = await _own_entry_while_open(session, actor, competition_id, submission_id)
    await session.delete(submission)
    await session.commit()


async def save_draft(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    title: str,
    content: str,
) -> Draft:
    """Replace the actor's draft for the competition, while it can still be entered
    (upcoming or open): after that there is nothing left to draft for."""
    content_html = await rendered(content)  # before the competition's row is locked
    await competition_allowing(session, competition_id, Action.DRAFT)
    values = {
        "title": title,
        "content": content,
        "content_html": content_html,
        "saved_at": utcnow(),
    }
    await session.execute(
        upsert(session, Draft)
        .values(competition_id=competition_id, author_id=actor.user_id, **values)
        .on_conflict_do_update(index_elements=["competition_id", "author_id"], set_=values)
    )
    await session.commit()
    return Draft(competition_id=competition_id, author_id=actor.user_id, **values)


async def get_draft(*, session: AsyncSession, actor: Principal, competition_id: uuid.UUID) -> Draft:
    draft = await session.get(Draft, (competition_id, actor.user_id))
    if draft is None:
        raise NotFound("no draft of yours for this competition")
    return draft


async def delete_draft(
    *, session: AsyncSession, actor: Principal, competition_id: uuid.UUID
) -> None:
    await _forget_draft(session, actor.user_id, competition_id)
    await session.commit()


async def _forget_draft(
    session: AsyncSession, author_id: uuid.UUID, competition_id: uuid.UUID
) -> None:
    await session.execute(
        sa.delete(Draft).where(Draft.competition_id == competition_id, Draft.author_id == author_id)
    )


async def get_submission(
    *, session: AsyncSession, competition_id: uuid.UUID, submission_id: uuid.UUID
) -> Submission:
    submission = await session.get(Submission, submission_id)
    if submission is None or submission.competition_id != competition_id:
        raise NotFound("no such submission in this competition")
    return submission


# Whether the reader (the ``reader_id`` parameter) has opened or liked the entry, as
# columns of the entry queries below.
_READER_ID = sa.bindparam("reader_id", type_=sa.Uuid)
_READ_BY_READER = sa.exists().where(Read.submission_id == Submission.id, Read.user_id == _READER_ID)
_LIKED_BY_READER = sa.exists().where(
    Like.submission_id == Submission.id, Like.user_id == _READER_ID
)


@dataclass(frozen=True)
class ShownEntry:
    """An entry as its page shows it: read as columns, not as an ORM object."""

    id: uuid.UUID
    competition_id: uuid.UUID
    author_id: uuid.UUID
    title: str
    content: str
    content_html: str
    word_count: int
    like_count: int
    created_at: datetime
    edited_at: datetime | None
    disqualified_at: datetime | None
    disqualified_reason: str | None


@dataclass(frozen=True)
class Veiling:
    """What the veil over a competition's entries depends on, read as its columns."""

    anonymous: bool
    judging: str
    start_date: datetime
    end_date: datetime
    voting_end_date: datetime | None

    def over(self, viewer: Principal | None) -> Veil:
        schedule = Schedule(self.start_date, self.end_date, self.voting_end_date)
        return _veil(self.anonymous, self.judging, schedule, viewer)


_SHOWN_ENTRY = columns(Submission, ShownEntry)
_VEILING = columns(Competition, Veiling)


def _entry_to_read(
    liked: sa.ColumnElement[bool], read: sa.ColumnElement[bool]
) -> sa.Select[*tuple[Any, ...]]:
    """The entry's columns (``ShownEntry``), what the veil needs of its competition
    (``Veiling``: not its texts, a prompt and rules), and whether the reader liked and
    read it, in that order."""
    return (
        sa.select(*_SHOWN_ENTRY, *_VEILING, liked, read)
        .join(Competition, Competition.id == Submission.competition_id)
        .where(
            Submission.id == sa.bindparam("submission_id"),
            Submission.competition_id == sa.bindparam("competition_id"),
        )
    )


_ENTRY_TO_READ = Prepared(_entry_to_read(_LIKED_BY_READER, _READ_BY_READER))
_ENTRY_TO_READ_ANONYMOUSLY = Prepared(_entry_to_read(sa.literal(False), sa.literal(False)))


@dataclass(frozen=True)
class EntryToRead:
    submission: ShownEntry
    veil: Veil  # what the reader may not see of it
    liked: bool  # by the reader
    read: bool  # the reader opened it before (see ``record_read``)


async def entry_to_read(
    *,
    session: AsyncSession,
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    reader: Principal | None,
) -> EntryToRead:
    """The entry with what its reader may see of it, in one statement (its competition,
    the reader's like and read joined in), unless it was disqualified: then only its
    author and admins read it."""
    query = _ENTRY_TO_READ_ANONYMOUSLY if reader is None else _ENTRY_TO_READ
    params = {
        "submission_id": submission_id,
        "competition_id": competition_id,
        "reader_id": reader and reader.user_id,
    }
    found = await rows(session, query, params)
    if not found:
        raise NotFound("no such submission in this competition")
    row = found[0]
    entry = ShownEntry(*row[: len(_SHOWN_ENTRY)])
    veiling = Veiling(*row[len(_SHOWN_ENTRY) : -2])
    is_liked, was_read = row[-2:]
    privileged = reader is not None and (reader.is_admin or reader.user_id == entry.author_id)
    if entry.disqualified_at is not None and not privileged:
        raise NotFound("this entry was disqualified by a moderator", code="disqualified")
    return EntryToRead(entry, veiling.over(reader), bool(is_liked), bool(was_read))


@dataclass(frozen=True)
class EntryToReactTo:
    """An entry and what a reaction to it (a like, a comment, a judge's score) needs of
    its competition, read as columns: not its text (up to 200,000 characters), nor the
    competition's prompt and rules."""

    id: uuid.UUID
    author_id: uuid.UUID
    title: str
    disqualified_at: datetime | None
    competition_id: uuid.UUID
    competition_title: str
    anonymous: bool
    judging: str
    start_date: datetime
    end_date: datetime
    voting_end_date: datetime | None
    comments_after_results: bool

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.start_date, self.end_date, self.voting_end_date)

    def about(self, actor: Principal, *, hidden: bool = False) -> AboutEntry:
        """The common part of a notice of a reaction to it (see ``_about``)."""
        return _about(
            competition_id=self.competition_id,
            competition_title=self.competition_title,
            submission_id=self.id,
            submission_title=self.title,
            actor=actor,
            hidden=hidden,
        )


async def submission_to_react_to(
    session: AsyncSession, competition_id: uuid.UUID, submission_id: uuid.UUID, action: Action
) -> EntryToReactTo:
    """The entry and its competition, if it may be reacted to with ``action`` now; the
    competition's row key-share locked (see competition_allowing). One statement."""
    ids = {"competition_id": competition_id, "submission_id": submission_id}
    found = await rows(session, _ENTRY_AND_COMPETITION, ids)
    return _to_react_to(found[0] if found else None, action)


def _entry_and_competition() -> sa.Select[*tuple[Any, ...]]:
    """The entry's and its competition's columns of an ``EntryToReactTo``, the
    competition's row key-share locked."""
    query = (
        sa.select(
            *columns(
                Submission,
                EntryToReactTo,
                competition_title=Competition.title,
                anonymous=Competition.anonymous,
                judging=Competition.judging,
                start_date=Competition.start_date,
                end_date=Competition.end_date,
                voting_end_date=Competition.voting_end_date,
                comments_after_results=Competition.comments_after_results,
            )
        )
        .join(Competition, Competition.id == Submission.competition_id)
        .where(
            Submission.id == sa.bindparam("submission_id"),
            Submission.competition_id == sa.bindparam("competition_id"),
        )
    )
    return _locking_competition(query, lock=False)


def _and_parent_author(query: sa.Select[*tuple[Any, ...]]) -> sa.Select[*tuple[Any, ...]]:
    """``query``, and the author of the comment ``parent_id`` if it is on this entry
    (a last column, after the entry's)."""
    parent = aliased(Comment)
    on_entry = sa.and_(
        parent.id == sa.bindparam("parent_id"), parent.submission_id == Submission.id
    )
    return query.add_columns(parent.author_id).outerjoin(parent, on_entry)


_ENTRY_AND_COMPETITION = _entry_and_competition()
_ENTRY_COMPETITION_AND_PARENT = _and_parent_author(_ENTRY_AND_COMPETITION)
_ENTRY_WIDTH = len(dataclasses.fields(EntryToReactTo))


def _to_react_to(row: Sequence[Any] | None, action: Action) -> EntryToReactTo:
    """Of a row of _entry_and_competition (with any columns after the entry's)."""
    if row is None:
        raise NotFound("no such submission in this competition")
    entry = EntryToReactTo(*row[:_ENTRY_WIDTH])
    if entry.disqualified_at is not None:
        raise Conflict("this entry was disqualified by a moderator", code="disqualified")
    _check_phase(entry, action)
    return entry


def writer_published(
    competition: Competition | ShownCompetition,
    submission_id: uuid.UUID,
    title: str,
    author_id: uuid.UUID,
) -> dict[str, Any]:
    """The job telling the author's followers of an entry they can now read. The fan-out
    worker fills in the author's name, and drops the job if the entry is disqualified."""
    data = AboutEntry(
        competition_id=competition.id,
        competition_title=competition.title,
        submission_id=submission_id,
        submission_title=title,
        actor_id=author_id,
        actor_username=None,
    )
    return _fanout_job(WriterPublished, data, author_id=author_id)


def _fanout_job(
    kind: type[Message[Any]], about: AboutEntry, *, author_id: uuid.UUID
) -> dict[str, Any]:
    """A fan-out job's columns (``FanoutJob``): ``about`` is what each subscriber is told
    of the entry, ``author_id`` who is not told of it."""
    return {
        "type": type_name(kind),
        "competition_id": about.competition_id,
        "submission_id": about.submission_id,
        "author_id": author_id,
        "data": about.model_dump(mode="json"),
    }


def _about(
    *,
    competition_id: uuid.UUID,
    competition_title: str,
    submission_id: uuid.UUID,
    submission_title: str,
    actor: Principal,
    hidden: bool = False,
) -> AboutEntry:
    """The notice's common part; ``hidden`` leaves out who acted (an anonymous author)."""
    return AboutEntry(
        competition_id=competition_id,
        competition_title=competition_title,
        submission_id=submission_id,
        submission_title=submission_title,
        actor_id=None if hidden else actor.user_id,
        actor_username=None if hidden else actor.username,
    )


@dataclass(frozen=True)
class Outcome:
    """What an action changed, and whose notifications it added (to wake them up)."""

    changed: bool
    notified: list[Recorded]


async def like(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
) -> Outcome:
    """Like an entry; ``changed`` is False if it was liked already (nothing is sent then).

    5 round trips the first time this reader likes it, 4 otherwise: BEGIN; the entry
    and its competition (one SELECT, the competition's row key-share locked); the like
    with its count and its notice noted (one statement, see _add_like); the
    notification (one statement); COMMIT.
    """
    entry = await submission_to_react_to(session, competition_id, submission_id, Action.LIKE)
    if entry.author_id == actor.user_id:
        raise Conflict("you cannot like your own entry", code="own_submission")
    # A like notice is a count: while counts are hidden, authors hear of none.
    told = not veil_of(entry, None).hides_likes
    added, first_time = await _add_like(session, submission_id, actor.user_id, told=told)
    notified: list[Recorded] = []
    if first_time:
        notice = Notice(entry.author_id, SubmissionLiked, entry.about(actor))
        notified = await store.record(session, [notice])
    await session.commit()
    return Outcome(added, notified)


async def unlike(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
) -> bool:
    """Take a like back; True if there was one.

    4 round trips: BEGIN; the entry and its competition (one SELECT, key-share
    locked); the like deleted and uncounted (one statement, see _add_like); COMMIT.
    """
    await submission_to_react_to(session, competition_id, submission_id, Action.LIKE)
    ids = {"submission_id": submission_id, "user_id": actor.user_id}
    if _is_postgres(session):
        removed = (await run(session, _UNLIKE_COUNTED, ids)).first() is not None
    else:
        result = await session.execute(_UNLIKE, ids)
        removed = bool(result.rowcount)  # type: ignore[attr-defined]
        if removed:
            await _count_like(session, submission_id, -1)
    await session.commit()
    return removed


async def _add_like(
    session: AsyncSession, submission_id: uuid.UUID, user_id: uuid.UUID, *, told: bool
) -> tuple[bool, bool]:
    """Add the like unless there is one, count it, and if its author is ``told``, note
    that they were (once per reader and entry, whatever the unlikes between). Returns
    whether it was added, and whether it is the first told.

    On PostgreSQL one statement (data-modifying WITHs), on SQLite up to three: it has
    no INSERT or UPDATE in a WITH. The same goes for _UNLIKE_COUNTED.
    """
    ids = {"submission_id": submission_id, "user_id": user_id}
    if _is_postgres(session):
        row = (await run(session, _ADD_LIKE, {**ids, "at": utcnow(), "told": told})).one()
        return bool(row.added), bool(row.first_told)
    if not await insert_ignore(session, Like, {**ids, "created_at": utcnow()}):
        return False, False
    await _count_like(session, submission_id, +1)
    return True, told and await insert_ignore(session, LikeNotice, ids)


_ADD_LIKE = sa.text(
    "WITH added AS ("
    " INSERT INTO likes (submission_id, user_id, created_at)"
    " VALUES (:submission_id, :user_id, :at) ON CONFLICT DO NOTHING RETURNING submission_id"
    "), counted AS ("
    " UPDATE submissions SET like_count = like_count + 1"
    " WHERE id IN (SELECT submission_id FROM added)"
    "), noted AS ("
    " INSERT INTO like_notices (submission_id, user_id)"
    " SELECT submission_id, :user_id FROM added WHERE :told"
    " ON CONFLICT DO NOTHING RETURNING submission_id"
    ")"
    " SELECT EXISTS (SELECT FROM added) AS added, EXISTS (SELECT FROM noted) AS first_told"
).bindparams(
    sa.bindparam("submission_id", type_=sa.Uuid()),
    sa.bindparam("user_id", type_=sa.Uuid()),
    sa.bindparam("at", type_=UTCDateTime()),
    sa.bindparam("told", type_=sa.Boolean()),
)
_UNLIKE_COUNTED = sa.text(
    "WITH removed AS ("
    " DELETE FROM likes WHERE submission_id = :submission_id AND user_id = :user_id"
    " RETURNING submission_id"
    ")"
    " UPDATE submissions SET like_count = like_count - 1"
    " WHERE id IN (SELECT submission_id FROM removed) RETURNING id"
).bindparams(
    sa.bindparam("submission_id", type_=sa.Uuid()), sa.bindparam("user_id", type_=sa.Uuid())
)


# On the tables, not the models: Core costs less CPU than the ORM's bulk statements.
_likes = Base.metadata.tables[Like.__tablename__]
_submissions = Base.metadata.tables[Submission.__tablename__]
_UNLIKE = sa.delete(_likes).where(
    _likes.c.submission_id == sa.bindparam("submission_id"),
    _likes.c.user_id == sa.bindparam("user_id"),
)
_COUNT_LIKE = (
    sa.update(_submissions)
    .where(_submissions.c.id == sa.bindparam("submission_id"))
    .values(like_count=_submissions.c.like_count + sa.bindparam("delta"))
)


async def _count_like(session: AsyncSession, submission_id: uuid.UUID, delta: int) -> None:
    await session.execute(_COUNT_LIKE, {"submission_id": submission_id, "delta": delta})


async def comment(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    content: str,
    parent_id: uuid.UUID | None,
    idempotency: IdempotencyKey | None = None,
) -> tuple[uuid.UUID, list[Recorded]]:
    """Comment on an entry, or reply to a comment on it; returns its id and who was notified.

    The reply's parent author hears "comment.replied"; the entry's author hears
    "comment.created" unless that is the same person (one notice per comment each).

    5 round trips, 4 when nobody is told (the entry's author comments, not replying):
    BEGIN; the entry, its competition and a reply's parent (one SELECT, the
    competition's row key-share locked); INSERT the comment; the notifications (one
    statement, for both recipients); COMMIT.
    """
    notified: list[Recorded] = []

    content_html = await rendered(content)

    async def create(comment_id: uuid.UUID) -> None:
        nonlocal notified
        query = _ENTRY_AND_COMPETITION if parent_id is None else _ENTRY_COMPETITION_AND_PARENT
        ids = {"competition_id": competition_id, "submission_id": submission_id}
        found = await rows(session, query, {**ids, "parent_id": parent_id})
        entry = _to_react_to(found[0] if found else None, Action.COMMENT)
        parent_author = found[0][_ENTRY_WIDTH] if parent_id is not None else None
        if parent_id is not None and parent_author is None:
            message = "parent_id does not name a comment on this submission"
            raise Invalid(
                message,
                # The shape of every 422's details: one entry per invalid input.
                details=[{"location": "body.parent_id", "message": message, "type": "not_found"}],
            )
        await run(
            session,
            _ADD_COMMENT,
            {
                "id": comment_id,
                "submission_id": submission_id,
                "author_id": actor.user_id,
                "parent_id": parent_id,
                "content": content,
                "content_html": content_html,
            },
        )
        # The entry's author, replying under an anonymous entry, stays anonymous.
        by_hidden_author = veil_of(entry, None).active and actor.user_id == entry.author_id
        about = entry.about(actor, hidden=by_hidden_author)
        data = AboutComment(**dict(about), comment_id=comment_id, parent_id=parent_id)
        recipients: dict[uuid.UUID, type[CommentCreated | CommentReplied]] = {}
        if parent_author is not None:
            recipients[parent_author] = CommentReplied
        recipients.setdefault(entry.author_id, CommentCreated)
        recipients.pop(actor.user_id, None)  # nobody is told of their own words
        notified = await store.record(
            session, [Notice(user, kind, data) for user, kind in recipients.items()]
        )

    return await create_once(session, idempotency_keys, idempotency, create), notified


# On the table, not the model: a Core INSERT costs a third less CPU than the ORM's.
_ADD_COMMENT = sa.insert(Base.metadata.tables[Comment.__tablename__])


async def get_comment(
    *, session: AsyncSession, competition_id: uuid.UUID, comment_id: uuid.UUID
) -> Comment:
    found = (
        await session.execute(
            sa.select(Comment)
            .join(Submission, Submission.id == Comment.submission_id)
            .where(Comment.id == comment_id, Submission.competition_id == competition_id)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("no such comment in this competition")
    return found


async def _own_comment(
    session: AsyncSession, actor: Principal, competition_id: uuid.UUID, comment_id: uuid.UUID
) -> Comment:
    found = await get_comment(session=session, competition_id=competition_id, comment_id=comment_id)
    if found.author_id != actor.user_id:
        raise Forbidden("only its author can change or delete a comment")
    return found


async def edit_comment(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    comment_id: uuid.UUID,
    content: str,
) -> Comment:
    """Its author rewrites a comment, while comments are open and it is not removed."""
    content_html = await rendered(content)
    comment = await _own_comment(session, actor, competition_id, comment_id)
    if comment.removed_by is not None:
        raise Conflict(f"this comment was removed by its {comment.removed_by}", code="removed")
    await competition_allowing(session, competition_id, Action.COMMENT)
    comment.content, comment.content_html, comment.edited_at = content, content_html, utcnow()
    await session.commit()
    return comment


async def delete_comment(
    *, session: AsyncSession, actor: Principal, competition_id: uuid.UUID, comment_id: uuid.UUID
) -> None:
    """Its author takes a comment back, at any time: its words are gone for good; the
    row stays as "deleted" under its replies (threads leave it out when it has none)."""
    comment = await _own_comment(session, actor, competition_id, comment_id)
    comment.content = comment.content_html = ""
    comment.removed_by = "author"
    await session.commit()


async def _get(session: AsyncSession, model: type[M], row_id: uuid.UUID) -> M:
    found = await session.get(model, row_id)
    assert found is not None, "a row just created or recorded must exist"
    return found


@dataclass(frozen=True)
class ShownComment:
    """A comment as an entry's page shows it: read as columns, not as an ORM object
    (20 comments ~685 -> ~516 us of CPU)."""

    id: uuid.UUID
    author_id: uuid.UUID
    parent_id: uuid.UUID | None
    content: str
    content_html: str
    created_at: datetime
    edited_at: datetime | None
    removed_by: str | None
    removed_reason: str | None


_COMMENTS = Prepared(
    sa.select(*columns(Comment, ShownComment))
    .where(Comment.submission_id == sa.bindparam("submission_id"))
    .order_by(Comment.created_at, Comment.id)
)


async def list_comments(*, session: AsyncSession, submission_id: uuid.UUID) -> list[ShownComment]:
    """An entry's comments, oldest first."""
    found = await rows(session, _COMMENTS, {"submission_id": submission_id})
    return [ShownComment(*row) for row in found]


@dataclass(frozen=True)
class ListedEntry:
    """What a list of entries shows of one. Read as columns, not as a whole entry: its
    content (up to 200,000 characters) stays in the database, only the excerpt is read,
    and rows cost less to read than ORM objects (~5 us an entry)."""

    id: uuid.UUID
    competition_id: uuid.UUID
    author_id: uuid.UUID
    title: str
    excerpt: str
    word_count: int
    like_count: int
    created_at: datetime
    edited_at: datetime | None


_LISTED = columns(
    Submission, ListedEntry, excerpt=sa.func.substr(Submission.content, 1, EXCERPT_CHARS)
)


@dataclass(frozen=True)
class EntryPage:
    entries: list[ListedEntry]
    total: int
    veil: Veil  # what the reader may not see of them
    read: frozenset[uuid.UUID] = frozenset()  # those of them the reader has opened


async def list_submissions(
    *,
    session: AsyncSession,
    reader: Principal | None,
    competition_id: uuid.UUID,
    sort: SubmissionSort,
    limit: int,
    offset: int,
) -> EntryPage:
    """One page of a competition's entries with their excerpts, and how many there are."""
    competition = await get_competition(session=session, competition_id=competition_id)
    veil = veil_of(competition, reader)
    if sort == "top" and veil.hides_likes:
        raise Conflict(
            "likes are hidden until the results of an anonymous competition: sort=new",
            code="likes_hidden",
            details={"results_at": iso(competition.schedule.results_at)},
        )
    if sort == "queue":
        return await _queue_page(session, reader, competition, veil, limit=limit, offset=offset)
    pages = _ENTRY_PAGES[sort, reader is not None]
    params = {"competition_id": competition_id, "reader_id": reader and reader.user_id}
    page, total = await pages.page(session, limit=limit, offset=offset, **params)
    entries = [ListedEntry(*row[:-1]) for row in page]
    read = frozenset(entry.id for entry, row in zip(entries, page, strict=True) if row[-1])
    return EntryPage(entries, total, veil, read)


def _entry_pages(sort: SubmissionSort, signed_in: bool) -> CountedQuery:
    """The pages of a competition's entries (``competition_id``) sorted so, with their
    excerpts and whether the reader (``reader_id``) has opened each."""
    order = (
        (Submission.created_at.desc(), Submission.id)
        if sort == "new"
        else (Submission.like_count.desc(), Submission.created_at, Submission.id)
    )
    query = (
        sa.select(*_LISTED, _READ_BY_READER if signed_in else sa.false())
        .where(
            Submission.competition_id == sa.bindparam("competition_id"),
            Submission.disqualified_at.is_(None),
        )
        .order_by(*order)
    )
    return CountedQuery(query, prepared=True)


_ENTRY_PAGES = {
    (sort, signed_in): _entry_pages(sort, signed_in)
    for sort in ("new", "top")
    for signed_in in (False, True)
}


async def _queue_page(
    session: AsyncSession,
    reader: Principal | None,
    competition: Competition,
    veil: Veil,
    *,
    limit: int,
    offset: int,
) -> EntryPage:
    """A page of ``reader``'s reading queue (``rules.reading_queue``): their own
    entries left out, then ordered in Python, as neither a seeded shuffle nor a hash
    is SQL both databases speak. Two statements whatever the page: the id, like count
    and the reader's read and like of every entry of the competition (a few thousand
    at most: small rows, one index range), then the page's entries with excerpts."""
    if reader is None:
        raise Unauthorized("the reading queue is each reader's own: send a bearer token")
    candidates = [
        Unread(entry_id, like_count, read=bool(read), liked=bool(like))
        for entry_id, like_count, read, like in await session.execute(
            sa.select(Submission.id, _votes(competition), _READ_BY_READER, _LIKED_BY_READER).where(
                Submission.competition_id == competition.id,
                Submission.author_id != _READER_ID,
                Submission.disqualified_at.is_(None),
            ),
            {"reader_id": reader.user_id},
        )
    ]
    order = reading_queue(
        candidates,
        reader_id=reader.user_id,
        competition_id=competition.id,
        likes_hidden=veil.hides_likes,
    )
    ids = order[offset : offset + limit]
    loaded: dict[uuid.UUID, ListedEntry] = {}
    if ids:
        listed = sa.select(*_LISTED).where(Submission.id.in_(ids))
        listed_entries = (ListedEntry(*row) for row in await rows(session, listed, {}))
        loaded = {entry.id: entry for entry in listed_entries}
    read = frozenset(entry.id for entry in candidates if entry.read and entry.id in loaded)
    # An entry withdrawn between the two statements is left out of the page.
    entries = [loaded[entry_id] for entry_id in ids if entry_id in loaded]
    return EntryPage(entries, len(order), veil, read)


def _votes(competition: Competition) -> sa.SQLColumnExpression[int]:
    """What "fewest votes first" counts of an entry: the ballots it is on when those
    decide, else its likes."""
    if competition.judging != Judging.RANKED:
        return Submission.like_count
    on_ballots = sa.select(sa.func.count()).where(BallotEntry.submission_id == Submission.id)
    return on_ballots.scalar_subquery()


async def record_read(
    *, session: AsyncSession, reader: Principal, submission_id: uuid.UUID, author_id: uuid.UUID
) -> bool:
    """Note that ``reader`` opened the entry (their own is not noted); True if it is
    the first time."""
    if author_id == reader.user_id:
        return False
    added = await insert_ignore(
        session,
        Read,
        {"user_id": reader.user_id, "submission_id": submission_id, "read_at": utcnow()},
    )
    await session.commit()
    return added


@dataclass(frozen=True)
class Placing:
    """An entry's final place in a finished competition."""

    place: int
    tied: bool
    submission_id: uuid.UUID
    title: str
    author_id: uuid.UUID
    likes: int
    score: float
    ballots: int | None


async def results(
    *, session: AsyncSession, competition_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[Placing], int]:
    """A page of the stored final places (see lifecycle.finalize), best first; entries
    sharing a place oldest first, as rules.placed lists them; and how many in all."""
    competition = await get_competition(session=session, competition_id=competition_id)
    status = status_of(competition)
    if status is not Status.FINISHED:
        results_at = iso(competition.schedule.results_at)
        raise Conflict(
            f"results are known once the competition ends ({results_at}); it is {status.value}",
            code="competition_not_finished",
            details={"status": status.value, "results_at": results_at},
        )
    if competition.finalized_at is None:
        raise Conflict("results are being written; ask again shortly", code="results_pending")
    here = Placement.competition_id == competition_id
    # Whether a place is shared is counted over every place, not the page's.
    sharing = sa.func.count().over(partition_by=Placement.place)
    query = (
        sa.select(
            Placement.place,
            sharing,
            Placement.submission_id,
            Submission.title,
            Submission.author_id,
            Placement.likes,
            Placement.score,
            Placement.ballots,
        )
        .join(Submission, Submission.id == Placement.submission_id)
        .where(here)
        .order_by(Placement.place, Submission.created_at, Submission.id)
    )
    page, total = await CountedQuery(query).page(session, limit=limit, offset=offset)
    return [Placing(row[0], row[1] > 1, *row[2:]) for row in page], total


@dataclass(frozen=True)
class UserEntry:
    """A writer's entry with what a portfolio shows of it."""

    submission: Submission
    competition: Competition
    place: int | None  # None until the results (a disqualified entry has none)

    @property
    def likes(self) -> int | None:
        """None while the competition hides how many likes its entries have."""
        return None if veil_of(self.competition, None).hides_likes else self.submission.like_count


async def list_user_submissions(
    *,
    session: AsyncSession,
    user_id: uuid.UUID,
    include_unrevealed: bool,
    exclude_disqualified: bool = False,
) -> list[UserEntry]:
    """A writer's entries, newest first; those of anonymous competitions without
    results only with ``include_unrevealed`` (for the writer themselves, or an admin);
    disqualified ones left out with ``exclude_disqualified`` (a public portfolio)."""
    query = (
        sa.select(Submission, Competition, Placement.place)
        .join(Competition, Competition.id == Submission.competition_id)
        .outerjoin(Placement, Placement.submission_id == Submission.id)
        .where(Submission.author_id == user_id)
    )
    if not include_unrevealed:
        query = query.where(sa.not_(sa.and_(Competition.anonymous, utcnow() < RESULTS_AT)))
    if exclude_disqualified:
        query = query.where(Submission.disqualified_at.is_(None))
    query = query.order_by(Submission.created_at.desc(), Submission.id)
    return [UserEntry(*row) for row in (await session.execute(query)).all()]
