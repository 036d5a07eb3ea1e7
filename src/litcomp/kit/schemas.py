"""Building blocks of request bodies shared by every service."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class Input(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, AfterValidator(_storable)]
"""Text stored exactly as sent (never trimmed or rewritten)."""
NonBlankText = Annotated[Text, AfterValidator(_not_blank)]
