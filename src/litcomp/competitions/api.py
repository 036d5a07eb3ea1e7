"""HTTP routes of the competitions service: translate requests to service calls and back."""

import json
import logging
import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litcomp.competitions import lifecycle, service
from litcomp.competitions.cache import Answer, CompetitionCache, Loaded
from litcomp.competitions.models import Competition
from litcomp.competitions.notifications.fanout import FanoutWorker
from litcomp.competitions.notifications.wakeups import Wakeups
from litcomp.competitions.rules import Veil
from litcomp.competitions.schemas import (
    Author,
    CommentCreate,
    CommentCreated,
    CommentEdit,
    CommentThread,
    CompetitionCreate,
    CompetitionDetails,
    CompetitionListing,
    CompetitionSummary,
    CompetitionUpdate,
    Draft,
    DraftSave,
    ResultEntry,
    ResultPage,
    SubmissionCreate,
    SubmissionCreated,
    SubmissionDetails,
    SubmissionEdit,
    SubmissionPage,
    SubmissionSummary,
    fold_tag,
)
from litcomp.competitions.service import SubmissionSort, status_of
from litcomp.competitions.settings import CompetitionsSettings
from litcomp.competitions.threads import Thread, threads
from litcomp.competitions.users_client import UsersClient
from litcomp.kit.auth import Principal
from litcomp.kit.db import OUTAGE_ERRORS
from litcomp.kit.http import (
    TOTAL_COUNT,
    CurrentUser,
    IdempotencyHeader,
    MaybeUser,
    Message,
    Offset,
    QueryModel,
    SessionDep,
    counted,
    error_responses,
    from_state,
)
from litcomp.kit.idempotency import IdempotencyKey
from litcomp.kit.times import utcnow

UsersDep = Annotated[UsersClient, Depends(from_state("users"))]
WakeupsDep = Annotated[Wakeups, Depends(from_state("wakeups"))]
FanoutDep = Annotated[FanoutWorker, Depends(from_state("fanout"))]
CacheDep = Annotated[CompetitionCache, Depends(from_state("cache"))]
SettingsDep = Annotated[CompetitionsSettings, Depends(from_state("settings"))]
# Sessions that may write, for the GET that may finalize a competition on the spot.
WriterDep = Annotated[async_sessionmaker[AsyncSession], Depends(from_state("sessionmaker"))]

router = APIRouter(prefix="/competitions", tags=["competitions"])
log = logging.getLogger(__name__)
WRITE_FAILURES: tuple[type[Exception], ...] = (sa.exc.SQLAlchemyError, *OUTAGE_ERRORS)


def _summary(competition: service.ListedCompetition) -> CompetitionSummary:
    return CompetitionSummary(**_summary_fields(competition))


def _summary_fields(competition: Competition | service.ListedCompetition) -> dict[str, Any]:
    return dict(
        competition_id=competition.id,
        title=competition.title,
        description=competition.description,
        start_date=competition.start_date,
        end_date=competition.end_date,
        voting_end_date=competition.voting_end_date,
        status=status_of(competition),
        tags=competition.tags,
        word_min=competition.word_min,
        word_max=competition.word_max,
        anonymous=competition.anonymous,
        judging=competition.judging,
    )


def _details(competition: Competition | service.ShownCompetition) -> CompetitionDetails:
    return CompetitionDetails(
        **_summary_fields(competition),
        admin_id=competition.admin_id,
        max_entries_per_user=competition.max_entries_per_user,
        prompt=competition.prompt,
        rules=competition.rules,
        comments_after_results=competition.comments_after_results,
        created_at=competition.created_at,
    )


# What the cached routes send, serialized as their response models would be.
SUMMARIES = TypeAdapter(list[CompetitionSummary])
DETAILS = TypeAdapter(CompetitionDetails)


def _cached_reads(request: Request) -> tuple[CompetitionCache, async_sessionmaker[AsyncSession]]:
    """The cache and the sessions a miss reads with. Taken from the app's state, not as
    two dependencies: on a hit, FastAPI's resolving of each cost ~11 us, a tenth of the
    hit (bench part floor); 503 is documented by hand for the same reason."""
    state = request.app.state
    return state.cache, state.read_sessionmaker


def _sent(answer: Answer) -> Response:
    return Response(answer.body, headers=answer.headers, media_type="application/json")


LISTING = QueryModel(CompetitionListing)


@router.get(
    "",
    response_model=list[CompetitionSummary],
    responses=counted(503),
    openapi_extra=LISTING.openapi,
)
async def list_competitions(request: Request) -> Response:
    """Competitions open for entries now (``status=active``, the default, or ``open``),
    or those in another phase (``upcoming``, ``voting``, ``finished``), or ``all``;
    how many in all in ``X-Total-Count``."""
    # One model, not four declared parameters: FastAPI's resolving of those was a
    # quarter of a cache hit (see kit.http.QueryModel).
    query = LISTING.parse(request)
    folded = None if query.tag is None else fold_tag(query.tag)
    cache, sessions = _cached_reads(request)

    async def load(storing: bool) -> Loaded:
        async with sessions() as session:
            competitions, total = await service.list_competitions(
                session=session,
                status=query.status,
                limit=query.limit,
                offset=query.offset,
                tag=folded,
            )
            changes_at = await service.next_change(session=session) if storing else None
        body = SUMMARIES.dump_json([_summary(c) for c in competitions])
        return Answer(body, {TOTAL_COUNT: str(total)}), changes_at

    # The tag as JSON: whatever it holds, the key stays one unambiguous string.
    key = f"listing:{query.status}:{query.limit}:{query.offset}:{json.dumps(folded)}"
    return _sent(await cache.get(key, load))


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(403))
async def create_competition(
    body: CompetitionCreate,
    me: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
    idempotency_key: IdempotencyHeader = None,
) -> CompetitionDetails:
    competition = await service.create_competition(
        session=session,
        admin=me,
        fields=body.model_dump(),
        idempotency=IdempotencyKey.of(
            idempotency_key,
            scope=str(me.user_id),
            action="create competition",
            request=body.model_dump(mode="json"),
        ),
    )
    await cache.invalidate()
    return _details(competition)


@router.get("/{competition_id}", response_model=CompetitionDetails, responses=error_responses(503))
async def get_competition(competition_id: uuid.UUID, request: Request) -> Response:
    cache, sessions = _cached_reads(request)

    async def load(_storing: bool) -> Loaded:
        async with sessions() as session:
            competition = await service.read_competition(
                session=session, competition_id=competition_id
            )
        changes_at = competition.schedule.changes_at(utcnow())
        return Answer(DETAILS.dump_json(_details(competition))), changes_at

    return _sent(await cache.get(f"one:{competition_id}", load))


@router.patch("/{competition_id}", responses=error_responses(403, 409))
async def update_competition(
    competition_id: uuid.UUID,
    body: CompetitionUpdate,
    me: CurrentUser,
    session: SessionDep,
    cache: CacheDep,
) -> CompetitionDetails:
    competition = await service.update_competition(
        session=session,
        actor=me,
        competition_id=competition_id,
        changes=body.model_dump(exclude_unset=True),
    )
    await cache.invalidate()
    return _details(competition)


@router.post(
    "/{competition_id}/submit",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 409),
)
async def submit(
    competition_id: uuid.UUID,
    body: SubmissionCreate,
    me: CurrentUser,
    session: SessionDep,
    fanout: FanoutDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionCreated:
    """Enter the competition. With LITCOMP_REQUIRE_VERIFIED_EMAIL=true, only with a
    verified address (403 `email_unverified`; a token issued before the address was
    verified says unverified until it is renewed: `POST /users/token/refresh`)."""
    submission_id = await service.submit(
        session=session,
        actor=me,
        competition_id=competition_id,
        title=body.title,
        content=body.content,
        idempotency=IdempotencyKey.of(
            idempotency_key,
            scope=str(me.user_id),
            action=f"submit {competition_id}",
            request=body.model_dump(),
        ),
        require_verified_email=settings.require_verified_email,
    )
    fanout.kick()
    return SubmissionCreated(submission_id=submission_id)


@router.get("/{competition_id}/submissions")
async def list_submissions(
    competition_id: uuid.UUID,
    session: SessionDep,
    users: UsersDep,
    me: MaybeUser,
    sort: SubmissionSort = "new",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SubmissionPage:
    """Entries newest first (``sort=new``) or most liked first (``sort=top``; 409
    ``likes_hidden`` in an anonymous competition until its results), or the caller's
    reading queue (``sort=queue``, with a token): their own entries left out, those they
    have neither opened nor liked first, then fewest likes first (in an anonymous
    competition before its results, by likes in buckets 0, 1, 2-3, 4-7, ...), ties in
    an order of the caller's own, the same on every page."""
    page = await service.list_submissions(
        session=session,
        reader=me,
        competition_id=competition_id,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    await session.close()  # give the connection back before calling another service
    shown = [e.author_id for e in page.entries if not page.veil.hides_author(e.author_id)]
    names = await users.usernames(shown)
    items = [
        SubmissionSummary(
            submission_id=e.id,
            competition_id=e.competition_id,
            title=e.title,
            excerpt=e.excerpt,
            word_count=e.word_count,
            author=_author(e.author_id, names, page.veil),
            is_mine=me is not None and me.user_id == e.author_id,
            likes=None if page.veil.hides_likes else e.like_count,
            read_by_me=e.id in page.read,
            created_at=e.created_at,
            edited_at=e.edited_at,
        )
        for e in page.entries
    ]
    return SubmissionPage(items=items, total=page.total, limit=limit, offset=offset)


def _author(user_id: uuid.UUID, names: dict[uuid.UUID, str], veil: Veil) -> Author | None:
    if veil.hides_author(user_id):
        return None
    return Author(user_id=user_id, username=names.get(user_id))


@router.get("/{competition_id}/submissions/{submission_id}")
async def get_submission(
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    session: SessionDep,
    users: UsersDep,
    me: MaybeUser,
    writer: WriterDep,
) -> SubmissionDetails:
    """One entry with its like count and its comments as threads of replies (404
    ``disqualified`` to all but its author and admins once a moderator disqualified it).
    With a token, notes that the caller has read it (see ``sort=queue``)."""
    entry = await service.entry_to_read(
        session=session, competition_id=competition_id, submission_id=submission_id, reader=me
    )
    details = await _details_of(entry, session, users, me)
    if me is not None and not entry.read:  # a reader's return writes nothing
        await _note_read(writer, me, entry.submission)
    return details


async def _note_read(
    writer: async_sessionmaker[AsyncSession], reader: Principal, entry: service.ShownEntry
) -> None:
    """Record the read in a session that may write (a GET's own only reads). The
    reader has the entry anyway: if the write fails, it is logged, not answered."""
    try:
        async with writer() as session:
            await service.record_read(
                session=session, reader=reader, submission_id=entry.id, author_id=entry.author_id
            )
    except WRITE_FAILURES:
        log.warning("could not record a read of %s", entry.id, exc_info=True)


@router.patch("/{competition_id}/submissions/{submission_id}", responses=error_responses(403, 409))
async def edit_submission(
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    body: SubmissionEdit,
    me: CurrentUser,
    session: SessionDep,
    users: UsersDep,
) -> SubmissionDetails:
    """Its author changes the title and/or the content while entries are open."""
    await service.edit_submission(
        session=session,
        actor=me,
        competition_id=competition_id,
        submission_id=submission_id,
        changes=body.model_dump(exclude_unset=True),
    )
    entry = await service.entry_to_read(
        session=session, competition_id=competition_id, submission_id=submission_id, reader=me
    )
    return await _details_of(entry, session, users, me)


@router.delete(
    "/{competition_id}/submissions/{submission_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(403, 409),
)
async def withdraw_submission(
    competition_id: uuid.UUID, submission_id: uuid.UUID, me: CurrentUser, session: SessionDep
) -> None:
    """Its author withdraws it while entries are open; its likes and comments go too."""
    await service.withdraw_submission(
        session=session, actor=me, competition_id=competition_id, submission_id=submission_id
    )


async def _details_of(
    entry: service.EntryToRead, session: AsyncSession, users: UsersClient, me: Principal | None
) -> SubmissionDetails:
    submission, veil = entry.submission, entry.veil
    comments = await service.list_comments(session=session, submission_id=submission.id)
    await session.close()  # give the connection back before calling another service
    author_id = submission.author_id
    named = {author_id, *(c.author_id for c in comments)}
    if veil.hides_author(author_id):
        named.discard(author_id)  # not even asked for: it cannot slip out
    names = await users.usernames(named)
    return SubmissionDetails(
        submission_id=submission.id,
        competition_id=submission.competition_id,
        title=submission.title,
        content=submission.content,
        content_html=submission.content_html,
        word_count=submission.word_count,
        author=_author(author_id, names, veil),
        is_mine=me is not None and me.user_id == author_id,
        likes=None if veil.hides_likes else submission.like_count,
        liked_by_me=entry.liked,
        created_at=submission.created_at,
        edited_at=submission.edited_at,
        disqualified_at=submission.disqualified_at,
        disqualified_reason=submission.disqualified_reason,
        comments=_threads(threads(comments), names, author_id, veil, me),
    )


@router.put("/{competition_id}/draft", responses=error_responses(409))
async def save_draft(
    competition_id: uuid.UUID, body: DraftSave, me: CurrentUser, session: SessionDep
) -> Draft:
    """Save the writer's unfinished entry as typed (private to them; no word limits)."""
    draft = await service.save_draft(
        session=session,
        actor=me,
        competition_id=competition_id,
        title=body.title,
        content=body.content,
    )
    return Draft.model_validate(draft, from_attributes=True)


@router.get("/{competition_id}/draft")
async def get_draft(competition_id: uuid.UUID, me: CurrentUser, session: SessionDep) -> Draft:
    """The writer's draft for this competition; 404 when there is none."""
    draft = await service.get_draft(session=session, actor=me, competition_id=competition_id)
    return Draft.model_validate(draft, from_attributes=True)


@router.delete("/{competition_id}/draft", status_code=status.HTTP_204_NO_CONTENT)
async def delete_draft(competition_id: uuid.UUID, me: CurrentUser, session: SessionDep) -> None:
    """Forget the writer's draft (there may have been none)."""
    await service.delete_draft(session=session, actor=me, competition_id=competition_id)


def _threads(
    nested: list[Thread[service.ShownComment]],
    names: dict[uuid.UUID, str],
    entry_author: uuid.UUID,
    veil: Veil,
    me: Principal | None,
) -> list[CommentThread]:
    """Comments and their replies. The entry's author's own stay unnamed while it is
    hidden; one its author deleted is left out unless replies hang under it."""
    shown = []
    for thread in nested:
        comment = thread.comment
        replies = _threads(thread.replies, names, entry_author, veil, me)
        if comment.removed_by == "author" and not replies:
            continue
        by_entry_author = comment.author_id == entry_author
        hidden = by_entry_author and veil.hides_author(entry_author)
        told = me is not None and (me.is_admin or me.user_id == comment.author_id)
        shown.append(
            CommentThread(
                comment_id=comment.id,
                parent_id=comment.parent_id,
                author=None
                if hidden or comment.removed_by == "author"
                else Author(user_id=comment.author_id, username=names.get(comment.author_id)),
                by_entry_author=by_entry_author,
                content="" if comment.removed_by else comment.content,
                content_html="" if comment.removed_by else comment.content_html,
                created_at=comment.created_at,
                edited_at=comment.edited_at,
                removed=comment.removed_by,
                removed_reason=comment.removed_reason if told else None,
                replies=replies,
            )
        )
    return shown


@router.patch("/{competition_id}/comments/{comment_id}", responses=error_responses(403, 409))
async def edit_comment(
    competition_id: uuid.UUID,
    comment_id: uuid.UUID,
    body: CommentEdit,
    me: CurrentUser,
    session: SessionDep,
) -> Message:
    """Its author rewrites a comment while comments are open (``edited_at`` is set)."""
    await service.edit_comment(
        session=session,
        actor=me,
        competition_id=competition_id,
        comment_id=comment_id,
        content=body.content,
    )
    return Message(message="Comment edited")


@router.delete(
    "/{competition_id}/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(403),
)
async def delete_comment(
    competition_id: uuid.UUID, comment_id: uuid.UUID, me: CurrentUser, session: SessionDep
) -> None:
    """Its author deletes a comment, at any time; replies to it stay, under "deleted"."""
    await service.delete_comment(
        session=session, actor=me, competition_id=competition_id, comment_id=comment_id
    )


@router.post("/{competition_id}/like/{submission_id}", responses=error_responses(409))
async def like(
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    me: CurrentUser,
    session: SessionDep,
    wakeups: WakeupsDep,
) -> Message:
    outcome = await service.like(
        session=session, actor=me, competition_id=competition_id, submission_id=submission_id
    )
    await wakeups.notify(outcome.notified)
    return Message(message="Like added")


@router.delete("/{competition_id}/like/{submission_id}", responses=error_responses(409))
async def unlike(
    competition_id: uuid.UUID, submission_id: uuid.UUID, me: CurrentUser, session: SessionDep
) -> Message:
    await service.unlike(
        session=session, actor=me, competition_id=competition_id, submission_id=submission_id
    )
    return Message(message="Like removed")


@router.post(
    "/{competition_id}/comment/{submission_id}",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
async def comment(
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    body: CommentCreate,
    me: CurrentUser,
    session: SessionDep,
    wakeups: WakeupsDep,
    idempotency_key: IdempotencyHeader = None,
) -> CommentCreated:
    comment_id, notified = await service.comment(
        session=session,
        actor=me,
        competition_id=competition_id,
        submission_id=submission_id,
        content=body.content,
        parent_id=body.parent_id,
        idempotency=IdempotencyKey.of(
            idempotency_key,
            scope=str(me.user_id),
            action=f"comment {competition_id} {submission_id}",
            request=body.model_dump(mode="json"),
        ),
    )
    await wakeups.notify(notified)
    return CommentCreated(comment_id=comment_id)


@router.get("/{competition_id}/results", responses=error_responses(409))
async def results(
    competition_id: uuid.UUID,
    session: SessionDep,
    writer: WriterDep,
    wakeups: WakeupsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> ResultPage:
    """Final places, best first, a page at a time; equal scores share a place (``tied``)."""
    async with writer() as finalizing:
        notified = await lifecycle.finalize(finalizing, competition_id)  # if due, not done
    if notified:
        await wakeups.notify(notified)
    placings, total = await service.results(
        session=session, competition_id=competition_id, limit=limit, offset=offset
    )
    items = [ResultEntry.model_validate(placing, from_attributes=True) for placing in placings]
    return ResultPage(items=items, total=total, limit=limit, offset=offset)
