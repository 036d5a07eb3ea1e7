"""Notification routes: the live WebSocket, the list, and marking read."""

import asyncio
import contextlib
import json
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from litcomp.competitions import notifications
from litcomp.competitions.hub import TRY_AGAIN_LATER, Connection, Hub
from litcomp.kit.auth import Principal, TokenVerifier
from litcomp.kit.errors import AppError
from litcomp.kit.http import CurrentUser, SessionDep, from_state
from litcomp.kit.schemas import Input

log = logging.getLogger(__name__)

UNAUTHORIZED = 4401
# Notice ids are BIGINT in the database; a larger one names no notice, and could not
# even be sent to the database as a query parameter.
MAX_ID = 2**63 - 1
NoticeId = Annotated[int, Field(ge=1, le=MAX_ID)]
After = Annotated[int | None, Query(ge=0, le=MAX_ID)]

router = APIRouter(tags=["notifications"])


class NotificationOut(BaseModel):
    id: int = Field(description="Increases by one per notice to the same user")
    type: str
    data: dict[str, object]
    created_at: str
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
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
    page, unread = await notifications.listing(
        session, user_id=me.user_id, after_seq=after, limit=limit
    )
    return NotificationPage(
        items=[
            NotificationOut(**notifications.message(n), read=n.read_at is not None) for n in page
        ],
        unread=unread,
    )


@router.post("/notifications/read")
async def mark_read(body: MarkRead, me: CurrentUser, session: SessionDep) -> Marked:
    """Mark notices read: those in ``ids``, and every one up to ``up_to``."""
    marked = await notifications.mark_read(
        session, user_id=me.user_id, ids=body.ids, up_to=body.up_to
    )
    _, unread = await notifications.listing(session, user_id=me.user_id, after_seq=None, limit=1)
    return Marked(marked=marked, unread=unread)


@router.websocket("/ws")
async def notification_socket(
    websocket: WebSocket,
    hub: Annotated[Hub, Depends(from_state("hub"))],
    token: str | None = None,
    after: After = None,
) -> None:
    """Live notices as JSON ``{"id", "type", "data", "created_at"}``.

    Authenticate with ``Authorization: Bearer`` or ``?token=``. ``?after=<id>`` first
    sends every notice after that id, then live ones; without it, only new ones.
    """
    await websocket.accept()
    principal = await _authenticate(websocket, token)
    if principal is None:
        return
    async with hub.sessions() as session:
        cursor = (
            after if after is not None else await notifications.latest(session, principal.user_id)
        )
    connection = Connection(principal.user_id, cursor)
    hub.add(connection)
    try:
        await hub.catch_up([principal.user_id])
        await _serve(websocket, connection)
    finally:
        hub.remove(connection)


async def _authenticate(websocket: WebSocket, token: str | None) -> Principal | None:
    header = websocket.headers.get("authorization", "")
    bearer = header[7:] if header.lower().startswith("bearer ") else None
    verifier: TokenVerifier = websocket.app.state.token_verifier
    try:
        if not (token or bearer):
            raise AppError("a token is required (Authorization: Bearer, or ?token=)")
        return await verifier.verify(token or bearer or "")
    except AppError as exc:
        await websocket.close(code=UNAUTHORIZED, reason=exc.message[:120])
        return None


async def _serve(websocket: WebSocket, connection: Connection) -> None:
    """Send queued notices until the client leaves, or falls too far behind."""

    async def send() -> None:
        while True:
            await connection.ready()
            if connection.overflowed:
                return
            while connection.outbox:
                await websocket.send_text(connection.outbox.popleft())

    async def receive() -> None:
        while True:  # clients may send "ping" for an application-level "pong"
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "ping":
                connection.offer(json.dumps({"type": "pong"}))

    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
    if connection.overflowed:
        log.info("closing a socket that fell behind", extra={"user_id": str(connection.user_id)})
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=TRY_AGAIN_LATER, reason="too far behind; resume with after")
