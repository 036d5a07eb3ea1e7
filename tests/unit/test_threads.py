"""litcomp.competitions.threads: comments, oldest first, nested as threads of replies."""

import uuid

from litcomp.competitions.models import Comment
from litcomp.competitions.threads import MAX_THREAD_DEPTH, Thread, threads


def _comment(parent: Comment | None = None) -> Comment:
    return Comment(id=uuid.uuid4(), parent_id=parent.id if parent else None, content="words")


def _shape(found: list[Thread]) -> list[tuple[uuid.UUID, list[object]]]:
    return [(t.comment.id, _shape(t.replies)) for t in found]


def test_no_comments_no_threads():
    assert threads([]) == []


def test_replies_go_under_their_parents_in_order():
    first, second = _comment(), _comment()
    reply, reply_to_reply, later_reply = _comment(first), _comment(), _comment(first)
    reply_to_reply.parent_id = reply.id
    found = threads([first, second, reply, reply_to_reply, later_reply])
    assert _shape(found) == [
        (first.id, [(reply.id, [(reply_to_reply.id, [])]), (later_reply.id, [])]),
        (second.id, []),
    ]


def test_a_reply_to_an_unknown_comment_starts_its_own_thread():
    orphan = Comment(id=uuid.uuid4(), parent_id=uuid.uuid4(), content="words")
    assert _shape(threads([orphan])) == [(orphan.id, [])]


def test_nesting_stops_at_the_maximum_depth_and_keeps_the_real_parent():
    chain = [_comment()]
    for _ in range(MAX_THREAD_DEPTH + 2):
        chain.append(_comment(chain[-1]))
    found = threads(chain)
    deepest = found[0]
    for _ in range(MAX_THREAD_DEPTH - 1):
        deepest = deepest.replies[0]
    # The comment at the maximum depth holds no replies: they are listed beside it.
    assert [t.comment.id for t in deepest.replies] == []
    holder = found[0]
    for _ in range(MAX_THREAD_DEPTH - 2):
        holder = holder.replies[0]
    assert [t.comment.id for t in holder.replies] == [c.id for c in chain[MAX_THREAD_DEPTH - 1 :]]
    assert chain[-1].parent_id == chain[-2].id
