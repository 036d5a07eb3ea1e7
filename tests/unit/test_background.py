"""litcomp.kit.background: coroutines that run until ``stop``, which never raises."""

import asyncio
import logging

import pytest

from litcomp.kit.background import MAX_RETRY_SECONDS, Background, Worker, retry_delay


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


async def test_a_worker_works_when_kicked_and_at_each_poll() -> None:
    class Counting(Worker):
        def __init__(self, poll_seconds: float, enough: int) -> None:
            super().__init__(poll_seconds=poll_seconds)
            self.calls, self.enough, self.done = 0, enough, asyncio.Event()

        async def work(self) -> None:
            self.calls += 1
            if self.calls >= self.enough:
                self.done.set()

    for worker, kick in ((Counting(3600, 1), True), (Counting(0.01, 3), False)):
        await worker.start()
        if kick:
            worker.kick()  # at once, not in an hour
        await asyncio.wait_for(worker.done.wait(), 1)  # unkicked, it polls
        await worker.stop()


def test_retries_wait_twice_as_long_up_to_five_minutes() -> None:
    assert [retry_delay(n).total_seconds() for n in range(4)] == [2, 4, 8, 16]
    assert retry_delay(100).total_seconds() == MAX_RETRY_SECONDS
