"""Coroutines that run beside a service for its whole life (workers, pollers)."""

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


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
