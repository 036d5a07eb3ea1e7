"""HTTP routes of judging: the judges an admin names, their scores, readers' ballots."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from litcomp.competitions.judging import service
from litcomp.competitions.models import BallotEntry
from litcomp.competitions.schemas import (
    Ballot,
    BallotCast,
    Judges,
    JudgesSet,
    ScoreGiven,
    ScorePage,
    ScoreSet,
)
from litcomp.competitions.users_client import UsersClient
from litcomp.kit.errors import Invalid
from litcomp.kit.http import CurrentUser, Offset, SessionDep, error_responses, from_state

UsersDep = Annotated[UsersClient, Depends(from_state("users"))]

router = APIRouter(prefix="/competitions", tags=["judging"])


@router.get("/{competition_id}/judges")
async def judges(competition_id: uuid.UUID, session: SessionDep) -> Judges:
    """Who judges the competition (judging ``judges``)."""
    return Judges(user_ids=await service.judges_of(session=session, competition_id=competition_id))


@router.put("/{competition_id}/judges", responses=error_responses(403, 409, 503))
async def set_judges(
    competition_id: uuid.UUID,
    body: JudgesSet,
    me: CurrentUser,
    session: SessionDep,
    users: UsersDep,
) -> Judges:
    """Its admin names the judges, replacing the list (409 ``judge_has_entry`` for a
    writer with an entry in it; only the scores of the judges named now count)."""
    await service.may_name_judges(session=session, actor=me, competition_id=competition_id)
    await session.close()  # give the connection back before calling another service
    unknown = set(body.user_ids) - (await users.known(body.user_ids)).keys()
    if unknown:
        message = f"no such users: {', '.join(sorted(map(str, unknown)))}"
        raise Invalid(
            message,
            details=[{"location": "body.user_ids", "message": message, "type": "not_found"}],
        )
    named = await service.set_judges(
        session=session, actor=me, competition_id=competition_id, user_ids=body.user_ids
    )
    return Judges(user_ids=named)


@router.put("/{competition_id}/scores/{submission_id}", responses=error_responses(403, 409))
async def score(
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    body: ScoreSet,
    me: CurrentUser,
    session: SessionDep,
) -> ScoreGiven:
    """A judge scores an entry 1-10 while votes are open (again: it replaces the score)."""
    given = await service.score(
        session=session,
        actor=me,
        competition_id=competition_id,
        submission_id=submission_id,
        value=body.score,
    )
    return ScoreGiven.model_validate(given, from_attributes=True)


@router.get("/{competition_id}/scores")
async def my_scores(
    competition_id: uuid.UUID,
    me: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> ScorePage:
    """The scores the caller has given here, a page at a time (none unless they judge it)."""
    given, total = await service.scores_by(
        session=session, actor=me, competition_id=competition_id, limit=limit, offset=offset
    )
    items = [ScoreGiven.model_validate(row, from_attributes=True) for row in given]
    return ScorePage(items=items, total=total, limit=limit, offset=offset)


@router.put("/{competition_id}/ballot", responses=error_responses(409))
async def cast_ballot(
    competition_id: uuid.UUID, body: BallotCast, me: CurrentUser, session: SessionDep
) -> Ballot:
    """Rank the entries you read, best first, while votes are open (judging ``ranked``;
    again: it replaces your ballot). 422 for duplicates, your own or unknown entries."""
    cast = await service.cast_ballot(
        session=session, actor=me, competition_id=competition_id, ranking=body.submission_ids
    )
    return _ballot(cast)


@router.get("/{competition_id}/ballot")
async def my_ballot(competition_id: uuid.UUID, me: CurrentUser, session: SessionDep) -> Ballot:
    """Your ballot, best first (empty, ``cast_at`` null, when you have cast none)."""
    return _ballot(
        await service.ballot_of(session=session, actor=me, competition_id=competition_id)
    )


def _ballot(rows: list[BallotEntry]) -> Ballot:
    return Ballot(
        submission_ids=[row.submission_id for row in rows],
        cast_at=rows[0].cast_at if rows else None,
    )
