"""litcomp.users.passwords: argon2id behind an admission gate (one hash per core, a
bounded number waiting, any more refused at once).

The gate's tests run real worker threads on work that blocks until the test lets it
go, so who is running and who is waiting is known, not timed."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest

from litcomp.kit.errors import Overloaded
from litcomp.users.passwords import Gate, hash_password, verify_password


class Held:
    """Work for the gate that blocks in its thread until ``release``."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)  # one per call that began running
        self._go = threading.Event()

    def __call__(self, name: str) -> str:
        self.started.release()
        assert self._go.wait(10), "never released"
        return name

    async def running(self) -> None:
        """Until one more call is running in its thread."""
        assert await asyncio.to_thread(self.started.acquire, True, 5)

    def release(self) -> None:
        self._go.set()


@pytest.fixture
async def held() -> AsyncIterator[Held]:
    work = Held()
    yield work
    work.release()  # whatever the test did, no thread stays blocked


async def admitted(
    gate: Gate, work: Callable[[str], str], names: list[str]
) -> list[asyncio.Task[str]]:
    tasks = [asyncio.create_task(gate.run(work, name)) for name in names]
    await asyncio.sleep(0)  # each has been admitted (or refused) and is waiting its turn
    return tasks


async def test_a_full_gate_refuses_at_once_and_the_waiting_run_in_turn(held: Held) -> None:
    gate = Gate(running=1, waiting=2)
    tasks = await admitted(gate, held, ["a", "b", "c"])
    await held.running()  # "a"; "b" and "c" wait
    started = time.perf_counter()
    with pytest.raises(Overloaded) as refused:
        await gate.run(held, "d")
    assert time.perf_counter() - started < 0.1
    assert refused.value.status == 503
    assert refused.value.retry_after >= 1
    held.release()
    assert await asyncio.gather(*tasks) == ["a", "b", "c"]
    assert await gate.run(held, "e") == "e"  # all done: room again


async def test_a_cancelled_waiting_call_gives_up_its_place(held: Held) -> None:
    gate = Gate(running=1, waiting=1)
    running, waiting = await admitted(gate, held, ["a", "b"])
    await held.running()
    with pytest.raises(Overloaded):
        await gate.run(held, "refused")
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    [instead] = await admitted(gate, held, ["c"])
    held.release()
    assert await running == "a"
    assert await instead == "c"


async def test_retry_after_is_how_long_the_admitted_calls_take(held: Held) -> None:
    gate = Gate(running=2, waiting=8)
    await admitted(gate, held, [str(n) for n in range(10)])  # five rounds of two
    with pytest.raises(Overloaded) as refused:
        await gate.run(held, "refused")
    assert refused.value.retry_after == 1  # 5 x 0.1 s (the first guess): at least a second
    gate.seconds = 0.9  # as measured on a busy machine
    with pytest.raises(Overloaded) as refused:
        await gate.run(held, "refused")
    assert refused.value.retry_after == 5  # 5 x 0.9 s, rounded up


async def test_passwords_are_hashed_and_verified_as_before() -> None:
    stored = await hash_password("a long password")
    assert stored.startswith("$argon2id$")
    assert await verify_password(stored, "a long password")
    assert not await verify_password(stored, "another password")
    assert not await verify_password(None, "a long password")  # no account: same work, False
