"""Notification routes: the list, and marking read (the live WebSocket is sockets.py)."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from litcomp.competitions.notifications import store
from litcomp.competitions.notifications.schemas import MAX_ID, Listed
from litcomp.kit.http import CurrentUser, SessionDep
from litcomp.kit.schemas import Input

NoticeId = Annotated[int, Field(ge=1, le=MAX_ID)]
After = Annotated[int | None, Query(ge=0, le=MAX_ID)]

router = APIRouter(tags=["notifications"])


class NotificationPage(BaseModel):
    items: list[Listed]
    unread: int


class MarkRead(Input):
    ids: list[NoticeId] = Field(default_factory=list, max_length=1000)
    up_to: NoticeId | None = Field(default=None, description="also every notice up to this id")


class Marked(BaseModel):
    marked: int
    unread: int


@router.get("/notifications")
async def list_notifications(
    me: CurrentUser,
    session: SessionDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> NotificationPage:
    """Your notices, oldest first: those after ``after``, or else the newest ``limit``."""
    page, unread = await store.listing(session, user_id=me.user_id, after_seq=after, limit=limit)
    items = [{**store.message(n), "read": n.read_at is not None} for n in page]
    return NotificationPage.model_validate({"items": items, "unread": unread})


@router.post("/notifications/read")
async def mark_read(body: MarkRead, me: CurrentUser, session: SessionDep) -> Marked:
    """Mark notices read: those in ``ids``, and every one up to ``up_to``."""
    marked = await store.mark_read(session, user_id=me.user_id, ids=body.ids, up_to=body.up_to)
    _, unread = await store.listing(session, user_id=me.user_id, after_seq=None, limit=1)
    return Marked(marked=marked, unread=unread)
