"""HTTP routes of people: uploaded profile pictures and writers followed (the public
profile's portfolio is in ``api.public_profile``)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from litcomp.kit import openapi
from litcomp.kit.errors import MAX_PICTURE_BYTES, UnsupportedMediaType
from litcomp.kit.etags import matches
from litcomp.kit.http import CurrentUser, Message, SessionDep, error_responses
from litcomp.users import people, pictures
from litcomp.users.api import private_profile
from litcomp.users.schemas import FollowedWriter, FollowingPage, ProfilePrivate

router = APIRouter(prefix="/users", tags=["users"])

PICTURE_ROUTE = "/profile/picture"
# The version is in the URL and changes with the picture: a URL names one image forever.
CACHE_FOREVER = "public, max-age=31536000, immutable"

_IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"The image itself (at most {MAX_PICTURE_BYTES // 1024 // 1024} MiB)",
        "content": {
            content_type: {"schema": {"type": "string", "format": "binary"}}
            for content_type in pictures.CONTENT_TYPES
        },
    }
}


def _error(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    return {status: {"description": description, "model": openapi.ErrorBody}}


@router.put(
    PICTURE_ROUTE,
    openapi_extra=_IMAGE_BODY,
    responses={
        **_error(413, "The image is over 2 MiB"),
        **_error(415, "Content-Type is not image/jpeg, image/png or image/webp"),
        **_error(
            422,
            "Not a whole JPEG, PNG or WebP image (`not_an_image`), or over 16"
            " megapixels (`image_too_large`)",
        ),
        **error_responses(404),
    },
)
async def upload_picture(request: Request, me: CurrentUser, session: SessionDep) -> ProfilePrivate:
    """Upload your profile picture: the image as the raw body. It is re-encoded (its
    metadata dropped, turned upright by its EXIF orientation) into 256 and 64 pixel
    squares, served at the URL the profile's `profile_picture` then holds."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in pictures.CONTENT_TYPES:
        raise UnsupportedMediaType("send the image as image/jpeg, image/png or image/webp")
    prepared = await pictures.prepare_off_loop(await request.body())
    user = await people.set_picture(session=session, user_id=me.user_id, picture=prepared)
    return private_profile(user)


@router.delete(PICTURE_ROUTE, responses=error_responses(404))
async def remove_picture(me: CurrentUser, session: SessionDep) -> ProfilePrivate:
    """Remove your profile picture (none: nothing changes)."""
    user = await people.remove_picture(session=session, user_id=me.user_id)
    return private_profile(user)


@router.get(
    "/{user_id:uuid}/picture/{version}/{size}",
    response_class=Response,
    responses={
        200: {"description": "The picture (WebP)", "content": {pictures.SERVED_TYPE: {}}},
        304: {"description": "Not modified (If-None-Match)"},
        # The gateway's, for a path that cannot be normalised (a control character).
        **_error(400, "The path holds a malformed or control-character escape"),
        **error_responses(404),
    },
)
async def get_picture(
    user_id: uuid.UUID,
    version: Annotated[str, Path(description="changes with the picture")],
    size: Annotated[pictures.Size, Path(description="the square's side in pixels")],
    request: Request,
    session: SessionDep,
) -> Response:
    """A user's profile picture, a `size` pixel square (what `profile_picture` points
    at); 404 once replaced or removed. Cached for good: the URL changes with the picture."""
    image = await people.picture(session=session, user_id=user_id, version=version, size=size)
    etag = f'"{version}-{size}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_FOREVER, "X-Content-Type-Options": "nosniff"}
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(image, media_type=pictures.SERVED_TYPE, headers=headers)


@router.post("/follow/{user_id:uuid}", responses=error_responses(404, 409))
async def follow(user_id: uuid.UUID, me: CurrentUser, session: SessionDep) -> Message:
    """Follow a writer: you are told (`writer.published`) when their entries can be read.
    Again: nothing changes. Not yourself (409 `own_account`)."""
    writer = await people.follow(session=session, follower_id=me.user_id, writer_id=user_id)
    return Message(message=f"Following {writer.username}")


@router.delete("/follow/{user_id:uuid}", responses=error_responses(404, 409))
async def unfollow(user_id: uuid.UUID, me: CurrentUser, session: SessionDep) -> Message:
    """Stop following a writer (not following: nothing changes)."""
    writer = await people.unfollow(session=session, follower_id=me.user_id, writer_id=user_id)
    return Message(message=f"No longer following {writer.username}")


@router.get("/profile/following")
async def my_following(
    me: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> FollowingPage:
    """The writers you follow, most recently followed first."""
    rows, total = await people.following(
        session=session, follower_id=me.user_id, limit=limit, offset=offset
    )
    items = [
        FollowedWriter(
            user_id=writer.id,
            username=writer.username,
            profile_picture=writer.profile_picture,
            bio=writer.bio,
            created_at=writer.created_at,
            followed_at=followed_at,
        )
        for writer, followed_at in rows
    ]
    return FollowingPage(items=items, total=total, limit=limit, offset=offset)
