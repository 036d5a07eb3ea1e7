"""HTTP routes of moderation: reporting (anyone logged in) and acting (admins)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from litcomp.competitions.models import ModerationAction
from litcomp.competitions.moderation import service
from litcomp.competitions.moderation.schemas import (
    ActionPage,
    ActionView,
    ModeratorReason,
    ReportCreate,
    ReportCreated,
    ReportPage,
    ReportView,
)
from litcomp.competitions.moderation.service import ReportStatus
from litcomp.competitions.notifications.wakeups import Wakeups
from litcomp.kit.http import CurrentUser, SessionDep, error_responses, from_state

WakeupsDep = Annotated[Wakeups, Depends(from_state("wakeups"))]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]

# Reporting and acting on one item live under its competition, beside the item.
items = APIRouter(prefix="/competitions", tags=["moderation"])
# What admins work through: the reports and the audit log.
router = APIRouter(prefix="/moderation", tags=["moderation"])


ACTION_FIELDS = (
    "action",
    "actor_id",
    "target_type",
    "target_id",
    "competition_id",
    "reason",
    "created_at",
)
REPORT_FIELDS = (
    "competition_id",
    "target_type",
    "target_id",
    "submission_id",
    "reporter_id",
    "reason",
    "text",
    "created_at",
    "closed_at",
    "closed_by_action",
)


def _action(row: ModerationAction) -> ActionView:
    return ActionView.model_validate(
        {"action_id": row.id, **{name: getattr(row, name) for name in ACTION_FIELDS}}
    )


def _report(row: service.ReportRow) -> ReportView:
    report = row.report
    return ReportView.model_validate(
        {
            "report_id": report.id,
            "excerpt": row.excerpt,
            "status": "open" if report.closed_at is None else "closed",
            **{name: getattr(report, name) for name in REPORT_FIELDS},
        }
    )


@items.post(
    "/{competition_id}/submissions/{submission_id}/report",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
async def report_submission(
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    body: ReportCreate,
    me: CurrentUser,
    session: SessionDep,
) -> ReportCreated:
    """Report an entry to the moderators (one open report per reader per entry)."""
    report = await service.report_submission(
        session=session,
        reporter=me,
        competition_id=competition_id,
        submission_id=submission_id,
        reason=body.reason,
        text=body.text,
    )
    return ReportCreated(report_id=report.id)


@items.post(
    "/{competition_id}/comments/{comment_id}/report",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409),
)
async def report_comment(
    competition_id: uuid.UUID,
    comment_id: uuid.UUID,
    body: ReportCreate,
    me: CurrentUser,
    session: SessionDep,
) -> ReportCreated:
    """Report a comment to the moderators (one open report per reader per comment)."""
    report = await service.report_comment(
        session=session,
        reporter=me,
        competition_id=competition_id,
        comment_id=comment_id,
        reason=body.reason,
        text=body.text,
    )
    return ReportCreated(report_id=report.id)


@items.post("/{competition_id}/comments/{comment_id}/hide", responses=error_responses(403, 409))
async def hide_comment(
    competition_id: uuid.UUID,
    comment_id: uuid.UUID,
    body: ModeratorReason,
    me: CurrentUser,
    session: SessionDep,
) -> ActionView:
    """Admins: show the comment as removed by a moderator; its reports close."""
    row = await service.hide_comment(
        session=session,
        actor=me,
        competition_id=competition_id,
        comment_id=comment_id,
        reason=body.reason,
    )
    return _action(row)


@items.post(
    "/{competition_id}/submissions/{submission_id}/disqualify",
    responses=error_responses(403, 409),
)
async def disqualify(
    competition_id: uuid.UUID,
    submission_id: uuid.UUID,
    body: ModeratorReason,
    me: CurrentUser,
    session: SessionDep,
    wakeups: WakeupsDep,
) -> ActionView:
    """Admins: take the entry out of the lists and the results (its likes go); its
    author is told the reason; its reports close."""
    row, notified = await service.disqualify(
        session=session,
        actor=me,
        competition_id=competition_id,
        submission_id=submission_id,
        reason=body.reason,
    )
    await wakeups.notify(notified)
    return _action(row)


@router.get("/reports", responses=error_responses(403))
async def list_reports(
    me: CurrentUser,
    session: SessionDep,
    status_filter: Annotated[ReportStatus, Query(alias="status")] = "open",
    limit: Limit = 50,
    offset: Offset = 0,
) -> ReportPage:
    """Admins: open reports oldest first, or closed ones last closed first."""
    rows, total = await service.list_reports(
        session=session, actor=me, status=status_filter, limit=limit, offset=offset
    )
    return ReportPage(items=[_report(r) for r in rows], total=total, limit=limit, offset=offset)


@router.post("/reports/{report_id}/dismiss", responses=error_responses(403, 409))
async def dismiss(
    report_id: uuid.UUID, body: ModeratorReason, me: CurrentUser, session: SessionDep
) -> ActionView:
    """Admins: nothing to act on; the report and the other open ones on its item close."""
    row = await service.dismiss(session=session, actor=me, report_id=report_id, reason=body.reason)
    return _action(row)


@router.get("/actions", responses=error_responses(403))
async def list_actions(
    me: CurrentUser, session: SessionDep, limit: Limit = 50, offset: Offset = 0
) -> ActionPage:
    """Admins: the audit log of every moderator's act, newest first."""
    rows, total = await service.list_actions(session=session, actor=me, limit=limit, offset=offset)
    return ActionPage(items=[_action(r) for r in rows], total=total, limit=limit, offset=offset)
