"""One process of notification-socket clients for bench/fanout.py: hold sockets, time messages.

Started by fanout.py, not by hand::

    python bench/ws_clients.py URL TOKENS_FILE FIRST COUNT CONCURRENCY

It raises its own open-files limit, opens COUNT WebSockets to URL (``/ws`` of one
competitions instance), one per token on lines FIRST to FIRST+COUNT-1 of
TOKENS_FILE, sent as ``Authorization: Bearer``, CONCURRENCY handshakes at a time,
and prints one JSON line ``{"event": "connected", ...}`` on stdout.

Every socket reads all the time (so the server's pings are answered). Each
``submission.created`` message is timed with ``time.time()`` as soon as it is
read and filed under its entry (``data.submission_id``); each socket also checks
that its message ids go up by one, with no gap and no repeat. Once every open
socket has an entry's notice the process prints ``{"event": "complete",
"submission_id": ...}``, which is how fanout.py knows a round is over.

Commands on stdin, one per line: ``report`` prints every arrival so far
(``{"event": "report", ...}``), ``quit`` closes the sockets and exits.
"""

import asyncio
import json
import resource
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

CREATED = "submission.created"
HANDSHAKE_SECONDS = 120


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def raise_file_limit() -> int:
    """Soft open-files limit up to the hard one; returns it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Tally:
    """What this process's sockets received."""

    def __init__(self) -> None:
        self.open = 0
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.created_at: dict[str, str] = {}
        self.completed: set[str] = set()
        self.other_messages = 0
        self.gaps = 0  # a message id that is not the previous one plus one
        self.closed: list[str] = []  # why sockets closed while they should not have
        self.quitting = False

    def record(self, message: dict[str, Any], at: float) -> None:
        if message.get("type") != CREATED:
            self.other_messages += 1
            return
        entry = str(message["data"]["submission_id"])
        self.arrivals[entry].append(at)
        self.created_at.setdefault(entry, str(message["created_at"]))
        self.check_complete(entry)

    def check_complete(self, entry: str) -> None:
        if entry not in self.completed and len(self.arrivals[entry]) >= self.open:
            self.completed.add(entry)
            emit("complete", submission_id=entry, last=max(self.arrivals[entry], default=0))

    def lost(self, why: str) -> None:
        if self.quitting:
            return
        self.open -= 1
        self.closed.append(why)
        for entry in list(self.arrivals):
            self.check_complete(entry)


async def read(socket: ClientConnection, tally: Tally) -> None:
    """Read until closed, timing each message the moment it is read."""
    last_id: int | None = None
    try:
        async for data in socket:
            at = time.time()
            if isinstance(data, bytes):  # a binary frame: notices are text
                continue
            message = json.loads(data)
            if last_id is not None and message["id"] != last_id + 1:
                tally.gaps += 1
            last_id = message["id"]
            tally.record(message, at)
    except ConnectionClosed:  # raised for any close but 1000 and 1001; all are recorded below
        pass
    tally.lost(f"closed: {socket.close_code}")


async def open_socket(
    url: str,
    token: str,
    gate: asyncio.Semaphore,
    tally: Tally,
    readers: set[asyncio.Task[None]],
) -> ClientConnection:
    async with gate:
        socket = await connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            open_timeout=HANDSHAKE_SECONDS,
            ping_interval=None,  # the server pings; reading answers it
            compression=None,
            close_timeout=5,
        )
    tally.open += 1
    reader = asyncio.create_task(read(socket, tally))
    readers.add(reader)
    return socket


async def stdin_lines() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield line.decode().strip()


def report(tally: Tally) -> None:
    emit(
        "report",
        arrivals=tally.arrivals,
        created_at=tally.created_at,
        open=tally.open,
        other_messages=tally.other_messages,
        gaps=tally.gaps,
        closed=tally.closed[:5],
        closed_count=len(tally.closed),
    )


async def run(url: str, tokens: list[str], concurrency: int) -> None:
    tally = Tally()
    readers: set[asyncio.Task[None]] = set()
    gate = asyncio.Semaphore(concurrency)
    started = time.time()
    results = await asyncio.gather(
        *(open_socket(url, token, gate, tally, readers) for token in tokens),
        return_exceptions=True,
    )
    sockets = [r for r in results if isinstance(r, ClientConnection)]
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    emit(
        "connected",
        sockets=len(sockets),
        failed=len(errors),
        errors=errors[:3],
        seconds=time.time() - started,
    )
    async for command in stdin_lines():
        if command == "report":
            report(tally)
        elif command == "quit":
            break
    tally.quitting = True  # closed on purpose, not lost
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


def main() -> None:
    url, tokens_file, first, count, concurrency = sys.argv[1:6]
    limit = raise_file_limit()
    if limit < int(count) + 64:
        raise SystemExit(f"open-files hard limit {limit} is too low for {count} sockets")
    lines = Path(tokens_file).read_text().splitlines()
    tokens = lines[int(first) : int(first) + int(count)]
    asyncio.run(run(url, tokens, int(concurrency)))


if __name__ == "__main__":
    main()
