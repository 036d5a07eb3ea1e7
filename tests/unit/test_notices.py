"""tests/support/notices.py, the check every notice the suite sees goes through: it
accepts what the models make and refuses what the AsyncAPI document does not describe."""

from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import ValidationError

from litcomp.competitions.notifications.schemas import Pong, SubmissionLiked
from tests.support import notices
from tests.unit.test_notification_schemas import ENTRY


def _liked() -> dict[str, Any]:
    notice = SubmissionLiked(
        id=7, type="submission.liked", data=ENTRY, created_at=datetime.now(UTC)
    )
    return notice.model_dump(mode="json")


def test_what_the_models_make_is_accepted() -> None:
    notices.validate(_liked())
    notices.validate({**_liked(), "read": False})  # as GET /notifications lists it
    notices.validate(Pong(type="pong").model_dump(mode="json"))


def test_a_notice_missing_a_field_is_refused() -> None:
    notice = _liked()
    del notice["data"]["actor_username"]
    with pytest.raises(ValidationError, match="actor_username"):
        notices.validate(notice)


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"submission\.shared"):
        notices.validate({**_liked(), "type": "submission.shared"})


@pytest.mark.parametrize(
    ("field", "value"), [("id", 0), ("data", {}), ("created_at", None), ("type", None)]
)
def test_a_field_of_the_wrong_shape_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        notices.validate({**_liked(), field: value})


def test_a_created_at_that_is_not_a_date_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="date-time"):
        notices.validate({**_liked(), "created_at": "yesterday"})
