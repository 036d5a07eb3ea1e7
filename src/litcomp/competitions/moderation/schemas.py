"""Request and response bodies of moderation."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from litcomp.kit.schemas import Input, Storable


class ReportReason(StrEnum):
    SPAM = "spam"
    PLAGIARISM = "plagiarism"
    ABUSE = "abuse"
    OFF_TOPIC = "off_topic"
    OTHER = "other"


class ReportCreate(Input):
    reason: ReportReason
    text: Annotated[
        str, Field(max_length=2_000, description="What the moderators should know"), Storable()
    ] = ""


class ReportCreated(BaseModel):
    report_id: uuid.UUID


class ModeratorReason(Input):
    """Why a moderator acts: kept in the audit log and shown to the person affected."""

    reason: Annotated[str, Field(min_length=1, max_length=2_000), Storable(blank=False)]


TargetType = Literal["submission", "comment"]


class ReportView(BaseModel):
    report_id: uuid.UUID
    competition_id: uuid.UUID
    target_type: TargetType
    target_id: uuid.UUID
    submission_id: uuid.UUID = Field(
        description="The entry reported, or the entry the reported comment is on"
    )
    excerpt: str = Field(description="The start of what was reported, as it is now")
    reporter_id: uuid.UUID
    reason: ReportReason
    text: str
    status: Literal["open", "closed"]
    created_at: datetime
    closed_at: datetime | None
    closed_by_action: uuid.UUID | None = Field(description="The action that closed it")


class ReportPage(BaseModel):
    items: list[ReportView]
    total: int
    limit: int
    offset: int


class ActionView(BaseModel):
    action_id: uuid.UUID
    action: Literal[
        "dismiss_reports",
        "hide_comment",
        "disqualify_submission",
        "suspend_user",
        "lift_suspension",
    ]
    actor_id: uuid.UUID
    target_type: Literal["report", "comment", "submission", "user"]
    target_id: uuid.UUID
    competition_id: uuid.UUID | None = Field(description="None for an act on a user")
    reason: str = Field(description="Empty for a lifted suspension (lifting takes none)")
    created_at: datetime = Field(description="When the moderator acted")


class ActionPage(BaseModel):
    items: list[ActionView]
    total: int
    limit: int
    offset: int
