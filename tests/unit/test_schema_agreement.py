"""The published JSON Schema of each input says exactly what its validator accepts.

Rules checked in Python (no NUL, not blank, the years of a date, email-validator's
special-use domains, uploaded pictures' paths) are also stated in the schema; schemathesis
found each place where the two parted (a schema-valid value refused, or the other way
round). Each value here is judged both ways, by pydantic and by jsonschema-rs (the
validator schemathesis uses), and the two must agree.
"""

from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, ValidationError

from litcomp.competitions.schemas import CompetitionCreate, SubmissionCreate
from litcomp.kit.schemas import NonBlankText, Text
from litcomp.kit.times import Instant
from litcomp.users.schemas import ProfileUpdate, UserLogin, UserRegister


class Texts(BaseModel):
    text: Text
    non_blank: NonBlankText


class When(BaseModel):
    at: Instant


def agree(model: type[BaseModel], field: str, value: object, **others: object) -> bool:
    """Whether pydantic and the field's JSON Schema agree on ``value``; returns the verdict."""
    schema = model.model_json_schema()["properties"][field]
    by_schema = jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(value)
    try:
        model.model_validate({field: value, **others})
        by_pydantic = True
    except ValidationError as error:
        by_pydantic = not any(e["loc"][:1] == (field,) for e in error.errors())
    assert by_schema == by_pydantic, (
        f"{field}={value!r}: schema {by_schema}, pydantic {by_pydantic}"
    )
    return by_pydantic


SPACES = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680",
          "\u2000", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]  # fmt: skip


@pytest.mark.parametrize(
    "value",
    ["a", " a ", "0", "\u200b", "\ufeff", "x\n", "\U0001f600", *SPACES, *(s * 3 for s in SPACES)],
)
def test_blank_means_the_same_to_both(value: str) -> None:
    accepted = agree(Texts, "non_blank", value, text="")
    assert accepted == bool(value.strip())


@pytest.mark.parametrize("value", ["", "a", "a\x00", "\x00", "\x00 x", "x\x00\n"])
def test_nul_means_the_same_to_both(value: str) -> None:
    assert agree(Texts, "text", value, non_blank="x") == ("\x00" not in value)
    assert agree(Texts, "non_blank", value, text="") == ("\x00" not in value and value != "")


def test_every_white_space_character_is_in_the_schema() -> None:
    # str.strip() and the schema's class list the same characters, over all of Unicode.
    for code in range(0x110000):
        if chr(code).isspace():
            assert not agree(Texts, "non_blank", chr(code), text="")


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("2026-03-01T09:30:00Z", True),
        ("2026-03-01", True),
        ("1970-01-01T00:30:00+01:00", True),  # written in 1970, an instant in 1969
        ("9998-12-31T23:59:59-23:59", True),  # the latest: an instant in 9999
        ("1969-12-31T23:59:59Z", False),
        ("0971-10-24T17:02:03.2Z", False),  # schemathesis's: schema-valid, once refused
        ("9999-01-01", False),
        ("9999-12-31T23:00:00-05:00", False),  # would be past what datetime holds
        ("not a date", False),
    ],
)
def test_dates_mean_the_same_to_both(value: str, accepted: bool) -> None:
    assert agree(When, "at", value) is accepted


@pytest.mark.parametrize(
    ("email", "accepted"),
    [
        ("ada@example.com", True),
        ("e&@dyxwha7o.ljq0.com", True),
        ("y@fw9.fpjm74wn.test", False),  # schemathesis's: special-use, refused by the server
        ("y@box.TEST", False),
        ("y@printer.local", False),
        ("y@localhost", False),
        ("y@x.onion", False),
        ("y@10.in-addr.arpa", False),
        ("y@shop.invalid", False),
        ("y@testing.com", True),
    ],
)
def test_emails_mean_the_same_to_both(email: str, accepted: bool) -> None:
    assert agree(UserLogin, "email", email, password="x") is accepted


@pytest.mark.parametrize(
    ("picture", "accepted"),
    [("https://example.com/me.png", False), ("HTTP://example.com/", False),
     ("", True), ("example.com", False),
     ("/users/0b0e6a5e-9d3c-4a57-8c3e-54c1b0a1f0e2/picture/0123456789abcdef/256", True),
     ("/users/0b0e6a5e-9d3c-4a57-8c3e-54c1b0a1f0e2/picture/0123456789abcdef/256\n", False)],
)  # fmt: skip
def test_pictures_mean_the_same_to_both(picture: str, accepted: bool) -> None:
    assert agree(ProfileUpdate, "profile_picture", picture) is accepted


def test_competition_and_entry_fields_carry_the_rules() -> None:
    def field(model: type[BaseModel], name: str) -> dict[str, Any]:
        schema: dict[str, Any] = model.model_json_schema()["properties"][name]
        return schema

    assert "not" in field(SubmissionCreate, "content")
    assert field(SubmissionCreate, "content")["maxLength"] == 200_000
    assert "pattern" in field(CompetitionCreate, "start_date")


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "\udbff\udc00", "x\ud83d"])
def test_lone_surrogates_are_refused_by_the_validators(value: str) -> None:
    # No schema states it (see kit.schemas): jsonschema-rs cannot even be handed one.
    for field, others in (("text", {"non_blank": "x"}), ("non_blank", {"text": ""})):
        with pytest.raises(ValidationError, match="lone surrogates"):
            Texts.model_validate({field: value, **others})
    # A character beyond the BMP (JSON's escaped pair "\ud83d\ude00") is no surrogate.
    assert Texts.model_validate({"text": "\U0001f600", "non_blank": "\U0001f600"})


@pytest.mark.parametrize(
    ("model", "field", "value", "message"),
    [
        (ProfileUpdate, "bio", "x" * 2001, "String should have at most 2000 characters"),
        (UserRegister, "password", "short", "String should have at least 8 characters"),
        (UserRegister, "username", "ab", "String should have at least 3 characters"),
        (SubmissionCreate, "title", "", "String should have at least 1 character"),
    ],
)
def test_length_limits_read_as_characters(
    model: type[BaseModel], field: str, value: str, message: str
) -> None:
    """Lengths are checked before the storability checks, so the message speaks of
    characters (placed after them, pydantic said "Value should have at most 2000 items
    after validation"), which the web app shows as it is."""
    with pytest.raises(ValidationError) as raised:
        model.model_validate({field: value})
    assert message in [e["msg"] for e in raised.value.errors() if e["loc"] == (field,)]
