"""litcomp.kit.background: coroutines that run until ``stop``, which never raises."""

import asyncio
import logging

import pytest

from litcomp.kit.background import Background


async def test_stop_cancels_every_task_and_waits_for_them() -> None:
    stopped: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(name)

    background = Background()
    background.start_task(forever("poll"))
    background.start_task(forever("listen"))
    await asyncio.sleep(0)
    await background.stop()
    assert sorted(stopped) == ["listen", "poll"]
    await background.stop()  # twice is harmless


async def test_a_task_that_crashed_is_logged_at_stop(caplog: pytest.LogCaptureFixture) -> None:
    async def crash() -> None:
        raise RuntimeError("a bug")

    background = Background()
    background.start_task(crash())
    await asyncio.sleep(0)
    await background.stop()
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
