"""schemathesis hooks (schemathesis.toml loads this file): text PostgreSQL cannot store,
and an entry to withdraw for each withdrawal.

schemathesis checks every string it draws with jsonschema-rs, which holds text as Rust
strings, so it never draws a lone surrogate (U+D800 to U+DFFF; no codec setting
changes that, and no pattern in a schema can name one for it). Yet clients send them,
as the JSON escape ``\\ud800`` or as the raw bytes ED A0 80 that Python's ``json.loads``
decodes into the same, and each once answered 500 from the database driver.

So every negative case with a JSON object body goes out with a lone surrogate added to
one of its strings (which one, and which of the two spellings, follow from the case, so
a seeded run repeats). The case was invalid and stays so: the answer must be a 4xx
(``negative_data_rejection``), never a 5xx (``not_a_server_error``). A failure's report
shows the body before the splice; the body sent had ``\\ud800`` added to that string.
"""

import json
import os
import zlib
from typing import Any

import httpx
import schemathesis
from schemathesis import Case, HookContext

SURROGATE = "\ud800"


def spliced(body: dict[str, Any]) -> bytes | None:
    """``body`` as JSON with a lone surrogate added to one of its strings, or None if it
    has none."""
    texts = sorted(key for key, value in body.items() if isinstance(value, str))
    if not texts:
        return None
    choice = zlib.crc32(json.dumps(body, sort_keys=True, default=str).encode())
    key = texts[choice % len(texts)]
    changed = {**body, key: body[key] + SURROGATE}
    if choice % 2:
        return json.dumps(changed, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(changed).encode()


WITHDRAW = "DELETE /competitions/{competition_id}/submissions/{submission_id}"


def fresh_entry() -> str:
    """A new entry of the writer's in the competition entries are withdrawn from."""
    competition = os.environ["LITCOMP_FUZZ_WITHDRAWN_COMPETITION_ID"]
    entered = httpx.post(
        f"{os.environ['LITCOMP_FUZZ_BASE_URL']}/competitions/{competition}/submit",
        json={"title": "To withdraw", "content": "Not for long."},
        headers={"Authorization": f"Bearer {os.environ['LITCOMP_FUZZ_WRITER_TOKEN']}"},
        timeout=10,
    )
    entered.raise_for_status()
    return str(entered.json()["submission_id"])


@schemathesis.hook
def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """Withdrawals meet an entry that is there (a withdrawal cannot be repeated); negative
    cases carry a lone surrogate."""
    withdrawn = os.environ["LITCOMP_FUZZ_WITHDRAWN_SUBMISSION_ID"]
    if case.operation.label == WITHDRAW and case.path_parameters.get("submission_id") == withdrawn:
        case.path_parameters["submission_id"] = fresh_entry()
    if not case.meta or not case.meta.generation.mode.is_negative:
        return
    if case.media_type != "application/json" or not isinstance(case.body, dict):
        return
    data = spliced(case.body)
    if data is not None:
        kwargs["data"] = data  # sent instead of the serialized body; the case is unchanged
