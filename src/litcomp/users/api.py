"""HTTP routes of the users service: translate requests to service calls and back."""

import logging
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from litcomp.kit.auth import SigningKey
from litcomp.kit.errors import Unavailable
from litcomp.kit.http import (
    ArrayLimit,
    CurrentUser,
    IdempotencyHeader,
    MaybeUser,
    Message,
    Offset,
    SessionDep,
    counted,
    error_responses,
    from_state,
    total_count,
)
from litcomp.kit.idempotency import IdempotencyKey
from litcomp.kit.suspensions import Suspensions
from litcomp.users import people, service
from litcomp.users.competitions_client import CompetitionsClient
from litcomp.users.mail import MailSender
from litcomp.users.models import RefreshToken, User
from litcomp.users.outbox import OutboxWorker
from litcomp.users.schemas import (
    EmailChange,
    EmailConfirm,
    EmailConfirmed,
    LoginToken,
    Medals,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    PortfolioEntry,
    ProfilePrivate,
    ProfileUpdate,
    RefreshTokenBody,
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
from litcomp.users.tokens import REFRESH, mint

CompetitionsDep = Annotated[CompetitionsClient, Depends(from_state("competitions"))]
SettingsDep = Annotated[UsersSettings, Depends(from_state("settings"))]
SigningKeyDep = Annotated[SigningKey, Depends(from_state("signing_key"))]
SuspensionsDep = Annotated[Suspensions, Depends(from_state("suspensions"))]
OutboxDep = Annotated[OutboxWorker, Depends(from_state("moderation_outbox"))]
MailDep = Annotated[MailSender, Depends(from_state("mail_sender"))]
SecretDep = Annotated[bytes, Depends(from_state("token_secret"))]

MAIL_QUEUED = (
    "If the address is right, a message is on its way. "
    "The link in it works for a while, and only once."
)

router = APIRouter(prefix="/users", tags=["users"])
log = logging.getLogger(__name__)


def private_profile(user: User) -> ProfilePrivate:
    return ProfilePrivate(
        user_id=user.id,
        username=user.username,
        email=user.email,
        email_verified=user.email_verified,
        role=user.role,
        profile_picture=user.profile_picture,
        bio=user.bio,
        created_at=user.created_at,
    )


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def register(
    body: UserRegister,
    session: SessionDep,
    mail: MailDep,
    idempotency_key: IdempotencyHeader = None,
) -> UserRegistered:
    """Create an account; a link to verify the address is mailed to it
    (`POST /users/email/confirm`; `email_verified` on the profile)."""
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
    mail.kick()
    return UserRegistered(
        user_id=user.id, username=user.username, email=user.email, created_at=user.created_at
    )


@router.post("/login", responses=error_responses(401, 403))
async def login(
    body: UserLogin,
    session: SessionDep,
    settings: SettingsDep,
    key: SigningKeyDep,
    secret: SecretDep,
) -> LoginToken:
    """Log in: an access token (LITCOMP_JWT_TTL_SECONDS) and the refresh token of a new
    session (LITCOMP_REFRESH_TTL_SECONDS)."""
    user = await service.authenticate(session=session, email=body.email, password=body.password)
    refresh = await service.start_session(
        session=session, user_id=user.id, ttl=timedelta(seconds=settings.refresh_ttl_seconds)
    )
    return _tokens(user, refresh, settings, key, secret)


@router.post("/token/refresh", responses=error_responses(401, 403))
async def refresh_token(
    body: RefreshTokenBody,
    session: SessionDep,
    settings: SettingsDep,
    key: SigningKeyDep,
    secret: SecretDep,
) -> LoginToken:
    """A new access token and a new refresh token, for a refresh token (which stops
    working). A refresh token used a second time was copied: the whole session ends
    (401 `refresh_token_reused`), and its owner logs in again. 401
    `invalid_refresh_token`: logged out, or ended by a password change; 403
    `suspended`, as at login."""
    user, refresh = await service.refresh_session(
        session=session,
        secret=secret,
        token=body.refresh_token,
        ttl=timedelta(seconds=settings.refresh_ttl_seconds),
    )
    return _tokens(user, refresh, settings, key, secret)


def _tokens(
    user: User, refresh: RefreshToken, settings: UsersSettings, key: SigningKey, secret: bytes
) -> LoginToken:
    token, expires_at = key.issue(
        user_id=user.id,
        username=user.username,
        role=user.role,
        issuer=settings.jwt_issuer,
        ttl=timedelta(seconds=settings.jwt_ttl_seconds),
        email_verified=user.email_verified,
        session_id=refresh.family_id,
    )
    return LoginToken(
        token=token,
        user_id=user.id,
        expires_at=expires_at,
        refresh_token=mint(secret, REFRESH, refresh.id),
        refresh_expires_at=refresh.expires_at,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshTokenBody, session: SessionDep, secret: SecretDep) -> Response:
    """End the session of this refresh token: it and its successors stop working.
    Any token, again or unknown, answers 204 (nothing to end). Access tokens already
    issued work until they expire (LITCOMP_JWT_TTL_SECONDS)."""
    await service.end_session(session=session, secret=secret, token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password", responses=error_responses(401, 403))
async def change_password(body: PasswordChange, me: CurrentUser, session: SessionDep) -> Message:
    """Change the password (403 `wrong_password` if the current one is wrong). Every
    other session ends: their refresh tokens stop working at once, their access tokens
    when they expire (at most LITCOMP_JWT_TTL_SECONDS later). Reset links die."""
    await service.change_password(
        session=session,
        user_id=me.user_id,
        current_session=me.session_id,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return Message(message="Password changed")


@router.post("/password/reset", status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(
    body: PasswordResetRequest, session: SessionDep, mail: MailDep
) -> Message:
    """Mail a link to set a new password (valid 30 minutes, once). The answer is the
    same whether or not an account has this address; a few mails an hour reach one
    address, more requests send nothing."""
    if await service.request_password_reset(session=session, email=body.email):
        mail.kick()
    return Message(message=MAIL_QUEUED)


@router.post("/password/reset/confirm")
async def reset_password(
    body: PasswordResetConfirm, session: SessionDep, secret: SecretDep
) -> Message:
    """Set a new password with a mailed reset token; every session ends. 422
    `token_invalid`, `token_used` or `token_expired`."""
    await service.reset_password(
        session=session, secret=secret, token=body.token, new_password=body.new_password
    )
    return Message(message="Password changed. You can log in with it now.")


@router.post(
    "/email", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(401, 403, 409)
)
async def change_email(
    body: EmailChange, me: CurrentUser, session: SessionDep, mail: MailDep
) -> Message:
    """Ask to use another address: a link to confirm it goes there (valid an hour), and
    a notice to the current one. The address changes once the link is followed
    (`POST /users/email/confirm`). 403 `wrong_password`; 409 `email_taken`, `same_email`."""
    if await service.request_email_change(
        session=session, user_id=me.user_id, new_email=body.new_email, password=body.password
    ):
        mail.kick()
    return Message(message=MAIL_QUEUED)


@router.post(
    "/email/verification",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 409),
)
async def resend_verification(me: CurrentUser, session: SessionDep, mail: MailDep) -> Message:
    """Mail the account's address a verification link again (one was sent at sign-up).
    409 `already_verified`."""
    if await service.resend_verification(session=session, user_id=me.user_id):
        mail.kick()
    return Message(message=MAIL_QUEUED)


@router.post("/email/confirm", responses=error_responses(409))
async def confirm_email(
    body: EmailConfirm, session: SessionDep, secret: SecretDep
) -> EmailConfirmed:
    """Follow a mailed link: the sign-up's verifies the address, an address change's
    makes the new one the account's (409 `email_taken` if someone took it since).
    422 `token_invalid`, `token_used` or `token_expired`. A token says so from its next
    renewal (`POST /users/token/refresh`)."""
    user = await service.confirm_email(session=session, secret=secret, token=body.token)
    return EmailConfirmed(message="Email address confirmed", email=user.email)


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


@router.get("/profile/submissions", responses=counted())
async def my_submissions(
    me: CurrentUser,
    competitions: CompetitionsDep,
    response: Response,
    limit: ArrayLimit = 100,
    offset: Offset = 0,
) -> list[UserSubmission]:
    """The caller's entries, newest first; how many in all in ``X-Total-Count``."""
    entries = await competitions.list_user_submissions(me.user_id, include_unrevealed=True)
    total_count(response, len(entries))
    page = entries[offset : offset + limit]
    return [UserSubmission.model_validate(entry, from_attributes=True) for entry in page]


@router.get("/profile/subscriptions", responses=counted())
async def my_subscriptions(
    me: CurrentUser,
    session: SessionDep,
    competitions: CompetitionsDep,
    response: Response,
    limit: ArrayLimit = 100,
    offset: Offset = 0,
) -> list[SubscribedCompetition]:
    """The competitions the caller follows, most recently followed first; how many in
    all in ``X-Total-Count``."""
    followed, total = await service.list_subscriptions(
        session=session, competitions=competitions, user_id=me.user_id, limit=limit, offset=offset
    )
    total_count(response, total)
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
