"""HTTP routes of the users service: translate requests to service calls and back."""

import logging
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, status

from litcomp.kit.auth import SigningKey
from litcomp.kit.errors import Unavailable
from litcomp.kit.http import (
    CurrentUser,
    IdempotencyHeader,
    MaybeUser,
    Message,
    SessionDep,
    error_responses,
    from_state,
)
from litcomp.kit.idempotency import IdempotencyKey
from litcomp.kit.suspensions import Suspensions
from litcomp.users import people, service
from litcomp.users.competitions_client import CompetitionsClient
from litcomp.users.models import User
from litcomp.users.outbox import OutboxWorker
from litcomp.users.schemas import (
    LoginToken,
    Medals,
    PortfolioEntry,
    ProfilePrivate,
    ProfileUpdate,
    SubscribedCompetition,
    Suspension,
    SuspensionCreate,
    UserLogin,
    UserRegister,
    UserRegistered,
    UserSubmission,
    WriterProfile,
)
from litcomp.users.settings import UsersSettings

CompetitionsDep = Annotated[CompetitionsClient, Depends(from_state("competitions"))]
SettingsDep = Annotated[UsersSettings, Depends(from_state("settings"))]
SigningKeyDep = Annotated[SigningKey, Depends(from_state("signing_key"))]
SuspensionsDep = Annotated[Suspensions, Depends(from_state("suspensions"))]
OutboxDep = Annotated[OutboxWorker, Depends(from_state("moderation_outbox"))]

router = APIRouter(prefix="/users", tags=["users"])
log = logging.getLogger(__name__)


def private_profile(user: User) -> ProfilePrivate:
    return ProfilePrivate(
        user_id=user.id,
        username=user.username,
        email=user.email,
        role=user.role,
        profile_picture=user.profile_picture,
        bio=user.bio,
        created_at=user.created_at,
    )


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def register(
    body: UserRegister, session: SessionDep, idempotency_key: IdempotencyHeader = None
) -> UserRegistered:
    user = await service.register(
        session=session,
        username=body.username,
        email=body.email,
        password=body.password,
        idempotency=IdempotencyKey.of(
            idempotency_key,
            scope="register",
            action="register",
            request=body.model_dump(exclude={"password"}),
        ),
    )
    return UserRegistered(
        user_id=user.id, username=user.username, email=user.email, created_at=user.created_at
    )


@router.post("/login", responses=error_responses(401, 403))
async def login(
    body: UserLogin, session: SessionDep, settings: SettingsDep, key: SigningKeyDep
) -> LoginToken:
    user = await service.authenticate(session=session, email=body.email, password=body.password)
    token, expires_at = key.issue(
        user_id=user.id,
        username=user.username,
        role=user.role,
        issuer=settings.jwt_issuer,
        ttl=timedelta(seconds=settings.jwt_ttl_seconds),
    )
    return LoginToken(token=token, user_id=user.id, expires_at=expires_at)


@router.get("/.well-known/jwks.json", tags=["auth"])
async def jwks(key: SigningKeyDep) -> dict[str, list[dict[str, str]]]:
    """The public keys that verify litcomp tokens (RFC 7517)."""
    return key.jwks()


@router.get("/profile", responses=error_responses(404))
async def get_profile(me: CurrentUser, session: SessionDep) -> ProfilePrivate:
    return private_profile(await service.get_user(session=session, user_id=me.user_id))


@router.patch("/profile", responses=error_responses(404))
async def update_profile(
    body: ProfileUpdate, me: CurrentUser, session: SessionDep
) -> ProfilePrivate:
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    picture = fields.pop("profile_picture", None)
    if picture is not None:
        user = await service.get_user(session=session, user_id=me.user_id)
        if people.check_picture_change(user, picture):
            await people.forget_picture(session, user)  # committed with the other changes
    changes = {field: str(value) for field, value in fields.items()}
    user = await service.update_profile(session=session, user_id=me.user_id, changes=changes)
    return private_profile(user)


@router.get("/profile/submissions")
async def my_submissions(me: CurrentUser, competitions: CompetitionsDep) -> list[UserSubmission]:
    entries = await competitions.list_user_submissions(me.user_id, include_unrevealed=True)
    return [UserSubmission.model_validate(entry, from_attributes=True) for entry in entries]


@router.get("/profile/subscriptions")
async def my_subscriptions(
    me: CurrentUser, session: SessionDep, competitions: CompetitionsDep
) -> list[SubscribedCompetition]:
    followed = await service.list_subscriptions(
        session=session, competitions=competitions, user_id=me.user_id
    )
    return [SubscribedCompetition.model_validate(c, from_attributes=True) for c in followed]


@router.post("/subscribe/{competition_id}", responses=error_responses(409))
async def subscribe(
    competition_id: uuid.UUID, me: CurrentUser, session: SessionDep, competitions: CompetitionsDep
) -> Message:
    await service.subscribe(
        session=session,
        competitions=competitions,
        user_id=me.user_id,
        competition_id=competition_id,
    )
    return Message(message="Subscription successful")


@router.delete("/subscribe/{competition_id}")
async def unsubscribe(competition_id: uuid.UUID, me: CurrentUser, session: SessionDep) -> Message:
    await service.unsubscribe(session=session, user_id=me.user_id, competition_id=competition_id)
    return Message(message="Unsubscribed")


# ":uuid" keeps /users/login, /users/register from being taken for a user id: a GET
# there is 405 (they answer POST), as the OpenAPI document says, not "no such user".
@router.get("/{user_id:uuid}")
async def public_profile(
    user_id: uuid.UUID, me: MaybeUser, session: SessionDep, competitions: CompetitionsDep
) -> WriterProfile:
    """A writer's public profile and portfolio: their entries anyone may read, with
    each one's place and likes once shown, and their medals (1st, 2nd, 3rd places).
    While the competitions service cannot answer, the profile still does, with
    ``entries`` and ``medals`` null."""
    user = await service.get_user(session=session, user_id=user_id)
    following = me is not None and await people.is_following(
        session=session, follower_id=me.user_id, writer_id=user_id
    )
    await session.close()  # the connection goes back to the pool during the remote call
    try:
        entries, medals = await people.portfolio(competitions=competitions, writer_id=user_id)
    except Unavailable:
        log.warning("portfolio of %s left out: competitions unavailable", user_id)
        entries, medals = None, None
    return WriterProfile(
        user_id=user.id,
        username=user.username,
        profile_picture=user.profile_picture,
        bio=user.bio,
        created_at=user.created_at,
        suspension=_suspension(user) if me is not None and me.is_admin else None,
        following=following,
        entries=None
        if entries is None
        else [PortfolioEntry.model_validate(e, from_attributes=True) for e in entries],
        medals=None
        if medals is None
        else Medals(first=medals[1], second=medals[2], third=medals[3]),
    )


def _suspension(user: User) -> Suspension:
    return Suspension(
        user_id=user.id,
        suspended=user.is_suspended,
        reason=user.suspension_reason,
        suspended_at=user.suspended_at,
        suspended_by=user.suspended_by,
        lifted_at=user.suspension_lifted_at,
        lifted_by=user.suspension_lifted_by,
    )


@router.post("/{user_id:uuid}/suspend", responses=error_responses(403, 404, 409))
async def suspend(
    user_id: uuid.UUID,
    body: SuspensionCreate,
    me: CurrentUser,
    session: SessionDep,
    suspensions: SuspensionsDep,
    outbox: OutboxDep,
) -> Suspension:
    """Suspend a user (admins): their tokens stop working at every service within
    LITCOMP_SUSPENSIONS_REFRESH_SECONDS, and logging in answers 403 `suspended` with the
    reason. Again while suspended: the reason is replaced; with the same reason nothing
    changes. Not yourself, nor an admin (409). Each change is recorded in the moderation
    audit log (`GET /moderation/actions`, `suspend_user`) shortly after."""
    user, changed = await service.suspend(
        session=session, actor=me, user_id=user_id, reason=body.reason
    )
    suspensions.suspend(user.id, body.reason)  # here at once; elsewhere at the next refresh
    if changed:
        outbox.kick()
    return _suspension(user)


@router.delete("/{user_id:uuid}/suspend", responses=error_responses(403, 404))
async def lift_suspension(
    user_id: uuid.UUID,
    me: CurrentUser,
    session: SessionDep,
    suspensions: SuspensionsDep,
    outbox: OutboxDep,
) -> Suspension:
    """Lift a user's suspension (admins); the record of it stays (`lifted_at`, `lifted_by`).
    Lifting one not suspended changes nothing. A lift is recorded in the moderation audit
    log (`lift_suspension`, with no reason) shortly after."""
    user, lifted = await service.lift_suspension(session=session, actor=me, user_id=user_id)
    suspensions.lift(user.id)
    if lifted:
        outbox.kick()
    return _suspension(user)
