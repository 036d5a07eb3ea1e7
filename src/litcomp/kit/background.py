"""Coroutines that run beside a service for its whole life (workers, pollers)."""

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)

MAX_RETRY_SECONDS = 300


def retry_delay(attempts: int) -> timedelta:
    """How long a row (a job, a message) that failed ``attempts`` times before waits
    after one more failure: 2, 4, 8, ... up to 300 s."""
    return timedelta(seconds=min(2 ** min(attempts + 1, 16), MAX_RETRY_SECONDS))


class Background:
    """Runs coroutines from ``start_task`` until ``stop``; stopping never raises."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start_task(self, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(work))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await task
                except Exception:
                    log.exception("a background task had failed")


class Worker(Background):
    """Calls ``work`` every ``poll_seconds``, and at once when ``kick``-ed (a request
    just committed something for it). ``work`` must not raise: it decides what a
    failure means (an outage to wait out, a row to retry later)."""

    def __init__(self, *, poll_seconds: float) -> None:
        super().__init__()
        self._poll = poll_seconds
        self._kicked = asyncio.Event()

    def kick(self) -> None:
        """Something was just committed for this worker: look now, not at the next poll."""
        self._kicked.set()

    async def start(self) -> None:
        self.start_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kicked.wait(), self._poll)
            self._kicked.clear()
            await self.work()

    async def work(self) -> object:
        raise NotImplementedError
