"""Request and response bodies of the users API (field names are the seed's contract)."""

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints

from litcomp.kit.schemas import Input, Storable

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$"
    ),
    Storable(),
]
# email-validator refuses addresses in special-use domains (RFC 6761: .test, .local,
# ...), which the JSON Schema format "email" allows: the schema says so too.
_SPECIAL_USE = "|".join(
    "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)
    for name in SPECIAL_USE_DOMAIN_NAMES
)
Email = Annotated[
    EmailStr,
    Field(
        json_schema_extra={"not": {"pattern": f"[@.]({_SPECIAL_USE})$"}},
        description="An email address; not in a special-use domain such as .test or .local",
    ),
]
Password = Annotated[str, Field(min_length=8, max_length=1024), Storable()]
# The path of a picture this platform serves (people.picture_path), or "" for none.
_PICTURE_PATH = "^(/users/[0-9a-f-]{36}/picture/[0-9a-f]{16}/256)?$"


def _uploaded_only(value: str) -> str:
    # Checked here rather than by Field(pattern=...), to say what to do instead.
    if not re.fullmatch(_PICTURE_PATH, value):
        raise ValueError(
            "profile pictures are uploaded, not linked: PUT the image to /users/profile/picture"
        )
    return value


UploadedPicture = Annotated[
    str, AfterValidator(_uploaded_only), Field(json_schema_extra={"pattern": _PICTURE_PATH})
]


class UserRegister(Input):
    username: Username
    email: Email
    password: Password


CurrentPassword = Annotated[str, Field(max_length=1024), Storable()]
# A token we hand out (users/tokens.py) is 32 hex digits, a dot and 43 base64url
# characters; a little room, and nothing far longer is worth reading.
Token = Annotated[
    str,
    Field(min_length=1, max_length=200, description="as it was given: id.MAC"),
    Storable(),
]


class UserLogin(Input):
    email: Email
    password: CurrentPassword


class RefreshTokenBody(Input):
    refresh_token: Token


class PasswordChange(Input):
    current_password: CurrentPassword
    new_password: Password


class PasswordResetRequest(Input):
    email: Email


class PasswordResetConfirm(Input):
    token: Token
    new_password: Password


class EmailChange(Input):
    new_email: Email
    password: CurrentPassword


class EmailConfirm(Input):
    token: Token


class EmailConfirmed(BaseModel):
    message: str
    email: str = Field(description="the account's address, now verified")


class ProfileUpdate(Input):
    bio: Annotated[str, Field(max_length=2000), Storable()] | None = None
    profile_picture: UploadedPicture | None = Field(
        default=None,
        description="An empty string removes the picture; the current value leaves it as it"
        " is. A picture is uploaded (PUT /users/profile/picture), never linked: a link is"
        " refused (422), and so is the path of a picture not yours",
    )


class SuspensionCreate(Input):
    reason: Annotated[
        str,
        Field(min_length=1, max_length=500, description="Shown to the user when they log in"),
        Storable(blank=False),
    ]


class Suspension(BaseModel):
    """A user's suspension: the current one, or the last one lifted (kept as a record)."""

    user_id: uuid.UUID
    suspended: bool
    reason: str | None = Field(description="null: never suspended")
    suspended_at: datetime | None
    suspended_by: uuid.UUID | None = Field(description="the admin who suspended them")
    lifted_at: datetime | None = Field(description="null: not lifted (or never suspended)")
    lifted_by: uuid.UUID | None


class UserRegistered(BaseModel):
    user_id: uuid.UUID
    username: str
    email: str
    created_at: datetime


class LoginToken(BaseModel):
    token: str = Field(description="the access token (a JWT): send it as Bearer")
    user_id: uuid.UUID
    expires_at: datetime = Field(description="when the access token stops working")
    refresh_token: str = Field(
        description="gets a new access token (POST /users/token/refresh) once this one "
        "expires; each use gives a new one and the used one stops working"
    )
    refresh_expires_at: datetime


class ProfilePublic(BaseModel):
    user_id: uuid.UUID
    username: str
    profile_picture: str
    bio: str
    created_at: datetime


class ProfileSeen(ProfilePublic):
    """A public profile as the one asking sees it: admins also see the suspension."""

    suspension: Suspension | None = Field(
        default=None, description="for admins only (null for everyone else)"
    )


class ProfilePrivate(ProfilePublic):
    email: str
    email_verified: bool = Field(description="whether a mailed link proved the address")
    role: Literal["user", "admin"]


class UserSubmission(BaseModel):
    submission_id: uuid.UUID
    competition_id: uuid.UUID
    title: str
    content: str = Field(description="Markdown (CommonMark), exactly as written")
    word_count: int = Field(
        ge=0, description="Words of letters and digits; each CJK ideograph or kana is one"
    )
    created_at: datetime


class SubscribedCompetition(BaseModel):
    competition_id: uuid.UUID
    title: str
    description: str
    start_date: datetime
    end_date: datetime
    voting_end_date: datetime | None = Field(description="null: no voting phase")


# People: pictures, following and portfolios (issue 17).


class FollowedWriter(ProfilePublic):
    followed_at: datetime


class FollowingPage(BaseModel):
    """The writers a reader follows, most recently followed first."""

    items: list[FollowedWriter]
    total: int
    limit: int
    offset: int


class PortfolioEntry(BaseModel):
    submission_id: uuid.UUID
    competition_id: uuid.UUID
    competition_title: str
    title: str
    place: int | None = Field(description="null until the competition's results")
    likes: int | None = Field(
        description="null while the competition hides likes (until the results of one"
        " not judged by likes)"
    )
    created_at: datetime


class Medals(BaseModel):
    """How many times the writer placed 1st, 2nd and 3rd (a shared place counts)."""

    first: int = Field(ge=0)
    second: int = Field(ge=0)
    third: int = Field(ge=0)


class WriterProfile(ProfileSeen):
    """A public profile with the writer's portfolio: their entries anyone may read
    (none of an anonymous competition before its results, none disqualified), newest
    first, and their medals."""

    following: bool = Field(description="whether you follow them (false without a token)")
    entries: list[PortfolioEntry] | None = Field(
        description="null while the competitions service cannot be reached"
    )
    medals: Medals | None = Field(
        description="null while the competitions service cannot be reached"
    )
