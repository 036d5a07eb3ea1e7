"""litcomp.competitions.rules.reading_queue: the order a reader is offered entries in."""

import uuid

import pytest

from litcomp.competitions.rules import Unread, like_bucket, queue_tiebreak, reading_queue

READER = uuid.uuid4()
COMPETITION = uuid.uuid4()


def queue(entries: list[Unread], reader: uuid.UUID = READER, *, hidden: bool = False) -> list:
    return reading_queue(entries, reader_id=reader, competition_id=COMPETITION, likes_hidden=hidden)


def entries(count: int, **fields: object) -> list[Unread]:
    return [Unread(uuid.uuid4(), **fields) for _ in range(count)]  # type: ignore[arg-type]


def test_what_the_reader_has_neither_opened_nor_liked_comes_first():
    read = Unread(uuid.uuid4(), 0, read=True)
    liked = Unread(uuid.uuid4(), 0, liked=True)
    unseen = Unread(uuid.uuid4(), 50)
    assert queue([read, liked, unseen])[0] == unseen.id
    assert set(queue([read, liked, unseen])[1:]) == {read.id, liked.id}


def test_then_fewest_likes_first_among_the_unseen_and_among_the_seen():
    unseen = [Unread(uuid.uuid4(), likes) for likes in (3, 0, 7, 1)]
    seen = [Unread(uuid.uuid4(), likes, read=True) for likes in (2, 0, 5)]
    by_id = {e.id: e for e in unseen + seen}
    ordered = [by_id[i] for i in queue(unseen + seen)]
    assert [(e.read, e.like_count) for e in ordered] == [
        (False, 0),
        (False, 1),
        (False, 3),
        (False, 7),
        (True, 0),
        (True, 2),
        (True, 5),
    ]


def test_ties_are_in_an_order_of_each_readers_own_the_same_every_time():
    tied = entries(30, like_count=0)
    mine = queue(tied)
    assert queue(list(reversed(tied))) == mine  # not the order they came in
    assert sorted(mine) != mine and sorted(mine, reverse=True) != mine  # nor by id
    others = {tuple(queue(tied, uuid.uuid4())) for _ in range(5)}
    assert tuple(mine) not in others and len(others) == 5  # 30! orders: alike by chance ~never


def test_the_tie_order_depends_on_the_competition_too():
    tied = entries(30, like_count=0)
    elsewhere = reading_queue(
        tied, reader_id=READER, competition_id=uuid.uuid4(), likes_hidden=False
    )
    assert elsewhere != queue(tied)


def test_the_tiebreak_is_fixed_bytes_of_reader_competition_and_entry():
    """Not Python's ``hash`` (salted per process): every replica and every restart
    gives a reader the same order. The values pin the function: changing it reshuffles
    every reader's queue mid-competition."""
    zero, one = uuid.UUID(int=0), uuid.UUID(int=1)
    assert queue_tiebreak(zero, zero, zero).hex() == "01c88af0015f7556"
    assert queue_tiebreak(one, zero, zero).hex() == "df80dd9fc345177c"


@pytest.mark.parametrize(
    ("likes", "bucket"), [(0, 0), (1, 1), (2, 2), (3, 2), (4, 3), (7, 3), (8, 4), (15, 4), (16, 5)]
)
def test_hidden_likes_count_in_buckets_doubling_in_width(likes: int, bucket: int):
    assert like_bucket(likes) == bucket


def test_with_likes_hidden_the_order_tells_only_their_bucket():
    """Entries with 4 to 7 likes are shuffled together, so a reader cannot tell which
    of them leads; 0 likes still come before 1, and 1 before 2-3."""
    leaders = [Unread(uuid.uuid4(), likes) for likes in (4, 5, 6, 7)]
    rest = [Unread(uuid.uuid4(), likes) for likes in (0, 1, 2)]
    by_id = {e.id: e for e in leaders + rest}
    counts = [by_id[i].like_count for i in queue(leaders + rest, hidden=True)]
    assert counts[:3] == [0, 1, 2]
    assert sorted(counts[3:]) == [4, 5, 6, 7]
    orders = {
        tuple(by_id[i].like_count for i in queue(leaders, uuid.uuid4(), hidden=True))
        for _ in range(40)
    }
    assert len(orders) > 1  # not by count within the bucket
    assert [by_id[i].like_count for i in queue(leaders)] == [4, 5, 6, 7]  # visible: exact


def test_every_entry_once():
    pool = entries(200, like_count=1) + entries(50, like_count=0, read=True)
    assert sorted(queue(pool)) == sorted(e.id for e in pool)


def test_nothing_to_read():
    assert queue([]) == []
