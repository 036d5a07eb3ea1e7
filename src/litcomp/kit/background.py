"""Coroutines that run beside a service for its whole life (workers, pollers)."""

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    """Runs one coroutine from ``start`` until ``stop``; stopping never raises."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start_task(self, work: Coroutine[Any, Any, None]) -> None:
        self._task = asyncio.create_task(work)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await self._task
            except Exception:
                log.exception("a background task had failed")
