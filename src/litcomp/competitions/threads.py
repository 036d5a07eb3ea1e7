"""Comments as threads of replies: a pure function over comments, oldest first.

Nesting stops at ``MAX_THREAD_DEPTH``: a deeper reply is listed among the replies of
its ancestor at that depth (its ``parent_id`` still names its real parent), so a long
back-and-forth stays readable and cannot grow an answer without bound. A reply whose
parent is not among the comments is a thread of its own.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

MAX_THREAD_DEPTH = 8


class Reply(Protocol):
    """All threading needs to know of a comment."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def parent_id(self) -> uuid.UUID | None: ...


C = TypeVar("C", bound=Reply)


@dataclass
class Thread(Generic[C]):
    comment: C
    replies: "list[Thread[C]]" = field(default_factory=list)


def threads(comments: Sequence[C]) -> list[Thread[C]]:
    """Nest replies under their parents; ``comments`` come oldest first, and so do
    the threads and each one's replies."""
    depth: dict[uuid.UUID, int] = {}
    home: dict[uuid.UUID, Thread[C]] = {}  # the thread a comment's replies go under
    roots: list[Thread[C]] = []
    for comment in comments:
        node = Thread(comment)
        parent = home.get(comment.parent_id) if comment.parent_id else None
        if parent is None:
            roots.append(node)
            depth[comment.id] = 1
        else:
            parent.replies.append(node)
            depth[comment.id] = depth[parent.comment.id] + 1
        home[comment.id] = node if depth[comment.id] < MAX_THREAD_DEPTH else parent or node
    return roots
