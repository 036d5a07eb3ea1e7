"""Waking every replica when notices are committed: Redis pub/sub, with polling behind it.

After a commit the replica that made it hands the notices, as written, to its own
sockets at once and publishes the recipients' ids; every other replica catches up
the sockets it holds for them. Pub/sub delivers at most once, so each replica also
polls: every ``poll_seconds`` while Redis is absent or down (delivery goes on, only
slower), and every ``safety_poll_seconds`` otherwise, in case a message was missed.
A poll asks the counters which held users have anything new, and reads only theirs.
A replica publishes only while its own subscription is up (a dead Redis must not slow
every action down), so when it gets it back it asks every replica to catch up all its
sockets once: that covers what it committed meanwhile without telling anyone.
"""

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis

from litcomp.competitions.notifications.hub import Hub
from litcomp.competitions.notifications.store import Recorded
from litcomp.kit.background import Background
from litcomp.kit.redis import REDIS_ERRORS, Outage

log = logging.getLogger(__name__)


class Wakeups(Background):
    def __init__(
        self,
        hub: Hub,
        redis: Redis | None,
        *,
        channel: str,
        poll_seconds: float,
        safety_poll_seconds: float = 10.0,
    ) -> None:
        super().__init__()
        self.hub = hub
        self._redis = redis
        self._channel = channel
        self._poll = poll_seconds
        self._safety_poll = safety_poll_seconds
        self._origin = secrets.token_hex(8)  # our own wake-ups come back: skip them
        # Down until subscribed: only then does this replica publish (see the docstring).
        self._outage = Outage(
            log,
            "Redis unreachable, notifications are polled until it returns",
            "notification wake-ups go through Redis",
            start_down=True,
        )
        self._went_down = asyncio.Event()  # cuts a long safety-poll wait short

    async def notify(self, recorded: Sequence[Recorded]) -> None:
        """These notices were just committed: deliver them wherever they are held.

        Never fails its caller: what cannot be delivered now, the polls deliver.
        """
        if not recorded:
            return
        try:
            gaps = self.hub.deliver(recorded)
            if gaps:
                await self.hub.catch_up(gaps)
        except Exception:
            log.exception("delivering to sockets failed; the next poll will")
        if self._redis is None or self._outage.down:
            return  # the other replicas' polls will find them
        try:
            users = sorted({notice.user_id for notice in recorded})
            message = {"from": self._origin, "users": [str(u) for u in users]}
            await self._redis.publish(self._channel, json.dumps(message))
        except REDIS_ERRORS as error:
            self._down(error)

    async def start(self) -> None:
        self.start_task(self._poll_forever())
        if self._redis is not None:
            self.start_task(self._listen_forever(self._redis))

    async def _listen_forever(self, redis: Redis) -> None:
        while True:
            try:
                async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._outage.succeeded()
                    await self._catch_up(None)  # whatever was missed while it was down
                    everyone = {"from": self._origin, "users": None}  # ... and by the others
                    await redis.publish(self._channel, json.dumps(everyone))
                    async for message in pubsub.listen():
                        await self._catch_up(message["data"])
            except REDIS_ERRORS as error:
                self._down(error)
            except Exception:
                log.exception("notification wake-ups stopped; listening again")
                self._down(None)
            await asyncio.sleep(1)

    async def _catch_up(self, payload: str | bytes | None) -> None:
        """One wake-up: a bad message or a database hiccup is logged, never fatal."""
        try:
            users = None
            if payload is not None:
                message = json.loads(payload)
                if message["from"] == self._origin:
                    return  # delivered locally when it was sent
                if message["users"] is not None:  # None: everyone
                    users = [uuid.UUID(u) for u in message["users"]]
            await self.hub.catch_up(users)
        except Exception:
            log.exception("a notification wake-up failed; the next poll catches up")

    async def _poll_forever(self) -> None:
        while True:
            interval = self._poll if self._outage.down else self._safety_poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._went_down.wait(), interval)
            self._went_down.clear()
            try:
                await self.hub.catch_up()
            except Exception:
                log.exception("polling for notifications failed")

    def _down(self, error: BaseException | None) -> None:
        if self._outage.failed(error):
            self._went_down.set()
