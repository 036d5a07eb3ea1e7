"""Building blocks of request bodies shared by every service."""

from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import core_schema


class Input(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


Unset = SkipJsonSchema[None]
"""For a PATCH field that may be left out but not sent as null: ``Title | Unset = None``.
The published schema says "not null"; ``Patch`` refuses a null sent all the same."""


class Patch(Input):
    """A PATCH body: only the fields sent change. ``null`` clears the fields named in
    ``clearable``; for any other it is an error, not a silent "leave as is"."""

    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _null_only_where_clearable(self) -> Self:
        for name in sorted(self.model_fields_set - self.clearable):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


def _storable(value: str) -> str:
    """Refuse what PostgreSQL text cannot hold, here rather than as a 500 from the driver:
    NUL, and lone surrogates (U+D800 to U+DFFF: not characters, so UTF-8 cannot encode
    them). JSON can carry one as a ``\\ud800`` escape, and Python's ``json.loads`` decodes
    raw bytes ED A0 80 to the same with ``surrogatepass``."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ValueError("must not contain lone surrogates (U+D800 to U+DFFF)") from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _char_class(codes: list[int]) -> str:
    """Code points as a regex class body of \\uXXXX runs, which every dialect a
    client may use (ECMA, Python, Rust) reads the same way."""
    runs: list[list[int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(
        f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}"
        for first, last in runs
    )


# What str.strip() removes: the characters for which str.isspace() holds (none lies
# beyond the Basic Multilingual Plane).
_SPACE = _char_class([code for code in range(0x10000) if chr(code).isspace()])
# The validators' rules in the published JSON Schema, so that it says exactly what
# they accept: as "not" of what they refuse rather than as a positive pattern, which
# fuzzers cannot generate from at the lengths an entry may have.
HAS_NUL = {"pattern": r"\u0000"}
BLANK = {"pattern": rf"^[{_SPACE}]*$"}

# Lone surrogates are not in the schema: no pattern can name them that every dialect
# compiles (Rust's regex, which jsonschema-rs and so schemathesis use, refuses \ud800),
# and a JSON text holding one is not valid Unicode (I-JSON, RFC 7493, forbids them).


class Storable:
    """The checks of ``Text`` as one annotation, which goes after any length or pattern
    constraint (``Annotated[str, Field(max_length=...), Storable()]``): placed before
    them, pydantic checks lengths on the validator's result and says "Value should
    have at most 10 items after validation" instead of "String should have at most 10
    characters". ``blank=False`` also refuses text that is only white space."""

    def __init__(self, *, blank: bool = True) -> None:
        self._blank = blank

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = core_schema.no_info_after_validator_function(_storable, handler(source))
        if self._blank:
            return schema
        return core_schema.no_info_after_validator_function(_not_blank, schema)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["not"] = HAS_NUL if self._blank else {"anyOf": [BLANK, HAS_NUL]}
        return json_schema


Text = Annotated[str, Storable()]
"""Text stored exactly as sent (never trimmed or rewritten); every text a request
carries to the database goes through it (or ``NonBlankText``), or through
``Storable()`` after its constraints."""
NonBlankText = Annotated[str, Storable(blank=False)]
"""Text with at least one character that is not white space."""
