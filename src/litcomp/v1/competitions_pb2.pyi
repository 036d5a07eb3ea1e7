import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Competition(_message.Message):
    __slots__ = ("competition_id", "title", "description", "admin_id", "start_date", "end_date", "created_at", "voting_end_date")
    COMPETITION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ADMIN_ID_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VOTING_END_DATE_FIELD_NUMBER: _ClassVar[int]
    competition_id: str
    title: str
    description: str
    admin_id: str
    start_date: _timestamp_pb2.Timestamp
    end_date: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    voting_end_date: _timestamp_pb2.Timestamp
    def __init__(self, competition_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., admin_id: _Optional[str] = ..., start_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., voting_end_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Submission(_message.Message):
    __slots__ = ("submission_id", "competition_id", "title", "content", "created_at", "word_count", "competition_title", "place", "likes", "disqualified")
    SUBMISSION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPETITION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    WORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMPETITION_TITLE_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    LIKES_FIELD_NUMBER: _ClassVar[int]
    DISQUALIFIED_FIELD_NUMBER: _ClassVar[int]
    submission_id: str
    competition_id: str
    title: str
    content: str
    created_at: _timestamp_pb2.Timestamp
    word_count: int
    competition_title: str
    place: int
    likes: int
    disqualified: bool
    def __init__(self, submission_id: _Optional[str] = ..., competition_id: _Optional[str] = ..., title: _Optional[str] = ..., content: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., word_count: _Optional[int] = ..., competition_title: _Optional[str] = ..., place: _Optional[int] = ..., likes: _Optional[int] = ..., disqualified: _Optional[bool] = ...) -> None: ...

class GetCompetitionsRequest(_message.Message):
    __slots__ = ("competition_ids",)
    COMPETITION_IDS_FIELD_NUMBER: _ClassVar[int]
    competition_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, competition_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCompetitionsResponse(_message.Message):
    __slots__ = ("competitions",)
    COMPETITIONS_FIELD_NUMBER: _ClassVar[int]
    competitions: _containers.RepeatedCompositeFieldContainer[Competition]
    def __init__(self, competitions: _Optional[_Iterable[_Union[Competition, _Mapping]]] = ...) -> None: ...

class ListUserSubmissionsRequest(_message.Message):
    __slots__ = ("user_id", "include_unrevealed", "exclude_disqualified")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_UNREVEALED_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_DISQUALIFIED_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    include_unrevealed: bool
    exclude_disqualified: bool
    def __init__(self, user_id: _Optional[str] = ..., include_unrevealed: _Optional[bool] = ..., exclude_disqualified: _Optional[bool] = ...) -> None: ...

class ListUserSubmissionsResponse(_message.Message):
    __slots__ = ("submissions",)
    SUBMISSIONS_FIELD_NUMBER: _ClassVar[int]
    submissions: _containers.RepeatedCompositeFieldContainer[Submission]
    def __init__(self, submissions: _Optional[_Iterable[_Union[Submission, _Mapping]]] = ...) -> None: ...

class ModerationAction(_message.Message):
    __slots__ = ("action_id", "action", "actor_id", "user_id", "reason", "created_at")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    action: str
    actor_id: str
    user_id: str
    reason: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, action_id: _Optional[str] = ..., action: _Optional[str] = ..., actor_id: _Optional[str] = ..., user_id: _Optional[str] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordModerationActionsRequest(_message.Message):
    __slots__ = ("actions",)
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[ModerationAction]
    def __init__(self, actions: _Optional[_Iterable[_Union[ModerationAction, _Mapping]]] = ...) -> None: ...

class RecordModerationActionsResponse(_message.Message):
    __slots__ = ("recorded",)
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    recorded: int
    def __init__(self, recorded: _Optional[int] = ...) -> None: ...
