"""The rules of moderation: no HTTP here, only sessions and domain errors.

Anyone logged in reports; only admins see reports and act. Each act closes every open
report on its item and writes one audit row, in the same transaction as the act.
Admins' acts on users (suspending, lifting) are taken in the users service, which sends
them here from its outbox (``record_user_actions``), so the log has every act.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from litcomp.competitions import lifecycle
from litcomp.competitions.models import (
    BallotEntry,
    Comment,
    Competition,
    Like,
    ModerationAction,
    Report,
    Score,
    Submission,
)
from litcomp.competitions.notifications import store
from litcomp.competitions.notifications.schemas import Disqualified, SubmissionDisqualified
from litcomp.competitions.notifications.store import Notice, Recorded
from litcomp.competitions.rules import EXCERPT_CHARS
from litcomp.competitions.service import get_comment, get_submission
from litcomp.kit.auth import Principal
from litcomp.kit.db import CountedQuery, insert_ignore
from litcomp.kit.errors import Conflict, Forbidden, NotFound
from litcomp.kit.times import utcnow

ReportStatus = Literal["open", "closed"]
UserActionName = Literal["suspend_user", "lift_suspension"]
USER_ACTIONS: frozenset[str] = frozenset(get_args(UserActionName))


def _admin_only(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden("only admins moderate")


async def report_submission(
    *,
    session: AsyncSession,
    reporter: Principal,
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    reason: str,
    text: str,
) -> Report:
    await get_submission(
        session=session, competition_id=competition_id, submission_id=submission_id
    )
    return await _file(
        session, reporter, competition_id, "submission", submission_id, submission_id, reason, text
    )


async def report_comment(
    *,
    session: AsyncSession,
    reporter: Principal,
    competition_id: uuid.UUID,
    comment_id: uuid.UUID,
    reason: str,
    text: str,
) -> Report:
    comment = await get_comment(
        session=session, competition_id=competition_id, comment_id=comment_id
    )
    return await _file(
        session,
        reporter,
        competition_id,
        "comment",
        comment_id,
        comment.submission_id,
        reason,
        text,
    )


async def _file(
    session: AsyncSession,
    reporter: Principal,
    competition_id: uuid.UUID,
    target_type: str,
    target_id: uuid.UUID,
    submission_id: uuid.UUID,
    reason: str,
    text: str,
) -> Report:
    report = Report(
        competition_id=competition_id,
        target_type=target_type,
        target_id=target_id,
        submission_id=submission_id,
        reporter_id=reporter.user_id,
        reason=reason,
        text=text,
    )
    session.add(report)
    try:
        await session.commit()  # the partial unique index keeps one open report each
    except IntegrityError:
        await session.rollback()
        raise Conflict(
            "you have reported this already; moderators have not acted on it yet",
            code="already_reported",
        ) from None
    return report


@dataclass(frozen=True)
class ReportRow:
    report: Report
    excerpt: str


async def list_reports(
    *, session: AsyncSession, actor: Principal, status: ReportStatus, limit: int, offset: int
) -> tuple[list[ReportRow], int]:
    """Open reports oldest first (a queue to work through); closed ones, last closed first."""
    _admin_only(actor)
    open_ = Report.closed_at.is_(None)
    where = open_ if status == "open" else sa.not_(open_)
    order = (
        (Report.created_at, Report.id) if status == "open" else (Report.closed_at.desc(), Report.id)
    )
    content = sa.case((Report.target_type == "comment", Comment.content), else_=Submission.content)
    query = (
        sa.select(Report, sa.func.substr(content, 1, EXCERPT_CHARS))
        .join(Submission, Submission.id == Report.submission_id)
        .outerjoin(
            Comment, sa.and_(Report.target_type == "comment", Comment.id == Report.target_id)
        )
        .where(where)
        .order_by(*order)
    )
    rows, total = await CountedQuery(query).page(session, limit=limit, offset=offset)
    return [ReportRow(report, excerpt or "") for report, excerpt in rows], total


async def list_actions(
    *, session: AsyncSession, actor: Principal, limit: int, offset: int
) -> tuple[list[ModerationAction], int]:
    """The audit log, newest first."""
    _admin_only(actor)
    query = sa.select(ModerationAction).order_by(
        ModerationAction.created_at.desc(), ModerationAction.id
    )
    rows, total = await CountedQuery(query).page(session, limit=limit, offset=offset)
    return [action for (action,) in rows], total


@dataclass(frozen=True)
class UserAction:
    """An admin's act on a user, taken in the users service; ``action_id`` is its own."""

    action_id: uuid.UUID
    action: UserActionName
    actor_id: uuid.UUID
    user_id: uuid.UUID
    reason: str
    created_at: datetime


async def record_user_actions(*, session: AsyncSession, actions: Sequence[UserAction]) -> int:
    """Add the users service's acts to the audit log, each once: an id recorded already
    is skipped (the sender retries what it does not know arrived). How many were new."""
    recorded = 0
    for each in actions:
        recorded += await insert_ignore(
            session,
            ModerationAction,
            {
                "id": each.action_id,
                "action": each.action,
                "actor_id": each.actor_id,
                "target_type": "user",
                "target_id": each.user_id,
                "competition_id": None,
                "reason": each.reason,
                "created_at": each.created_at,
            },
        )
    await session.commit()
    return recorded


async def _record(
    session: AsyncSession,
    actor: Principal,
    action: str,
    target: tuple[str, uuid.UUID],
    competition_id: uuid.UUID,
    reason: str,
    closes: tuple[str, uuid.UUID],
) -> ModerationAction:
    """The audit row for an act, and every open report on the item it closes."""
    row = ModerationAction(
        action=action,
        actor_id=actor.user_id,
        target_type=target[0],
        target_id=target[1],
        competition_id=competition_id,
        reason=reason,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    await session.execute(
        sa.update(Report)
        .where(
            Report.target_type == closes[0],
            Report.target_id == closes[1],
            Report.closed_at.is_(None),
        )
        .values(closed_at=row.created_at, closed_by_action=row.id)
    )
    return row


async def dismiss(
    *, session: AsyncSession, actor: Principal, report_id: uuid.UUID, reason: str
) -> ModerationAction:
    """Nothing to act on: the report, and every other open one on its item, close."""
    _admin_only(actor)
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound("no such report")
    if report.closed_at is not None:
        raise Conflict("this report is closed already", code="report_closed")
    item = (report.target_type, report.target_id)
    row = await _record(
        session,
        actor,
        "dismiss_reports",
        ("report", report_id),
        report.competition_id,
        reason,
        item,
    )
    await session.commit()
    return row


async def hide_comment(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    comment_id: uuid.UUID,
    reason: str,
) -> ModerationAction:
    """The comment shows as removed by a moderator (its replies stay); its author
    sees the reason."""
    _admin_only(actor)
    comment = await get_comment(
        session=session, competition_id=competition_id, comment_id=comment_id
    )
    if comment.removed_by is not None:
        raise Conflict(f"this comment was removed by its {comment.removed_by}", code="removed")
    comment.removed_by, comment.removed_reason = "moderator", reason
    item = ("comment", comment_id)
    row = await _record(session, actor, "hide_comment", item, competition_id, reason, item)
    await session.commit()
    return row


async def disqualify(
    *,
    session: AsyncSession,
    actor: Principal,
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    reason: str,
) -> tuple[ModerationAction, list[Recorded]]:
    """The entry leaves the lists and the results, its likes, scores and places on
    ballots go, and its author is told why. After the results, the places are written
    again without it."""
    _admin_only(actor)
    # Locked like a finalize locks it: the two take turns.
    competition = await session.scalar(
        sa.select(Competition).where(Competition.id == competition_id).with_for_update()
    )
    if competition is None:
        raise NotFound("no such competition")
    entry = await get_submission(
        session=session, competition_id=competition_id, submission_id=submission_id
    )
    if entry.disqualified_at is not None:
        raise Conflict("this entry is disqualified already", code="already_disqualified")
    entry.disqualified_at, entry.disqualified_reason = utcnow(), reason
    entry.like_count = 0
    for dropped in (Like, Score, BallotEntry):
        await session.execute(sa.delete(dropped).where(dropped.submission_id == submission_id))
    item = ("submission", submission_id)
    row = await _record(session, actor, "disqualify_submission", item, competition_id, reason, item)
    await session.flush()
    if competition.finalized_at is not None:
        await lifecycle.place_again(session, competition)
    notice = Disqualified(
        competition_id=competition_id,
        competition_title=competition.title,
        submission_id=submission_id,
        submission_title=entry.title,
        reason=reason,
    )
    notified = await store.record(
        session, [Notice(entry.author_id, SubmissionDisqualified, notice)]
    )
    await session.commit()
    return row, notified
