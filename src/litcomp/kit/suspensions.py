"""Who is suspended, as each instance keeps it: what ``TokenVerifier`` consults after a
token's signature, so a suspended user's tokens stop working without a call per request.

Contract:

- ``Suspensions`` holds user id -> reason. ``replace`` swaps in a whole new map (what a
  refresh read) and returns the ids that were not suspended before; ``suspend`` and
  ``lift`` change one user at once (the users instance that took the action need not
  wait for its next refresh). A token is refused from the moment its user is in the
  map until the moment it is not.
- ``start`` runs a refresh at once and then every ``refresh_seconds``; ``fetch`` is
  the whole map from the source of truth (users: its database; competitions: the
  users service over gRPC). A failed fetch keeps the last map: suspensions already
  known go on being enforced, and an outage of the source is logged once as it starts
  and once as it ends, not every interval.
- A suspension is therefore seen everywhere within ``refresh_seconds`` plus one fetch
  (and a lifting likewise). A refresh that read the source just before an instance's
  own ``suspend`` or ``lift`` may undo it there for one interval: the next refresh
  puts it right.
- Listeners (``on_suspended``) hear the newly suspended ids of each change, to close
  what a token opened before (the notification sockets).

Instances start with nothing known: until the first refresh answers, no one is
refused (a service does not wait for its peer to start).
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping

from litcomp.kit.background import Background
from litcomp.kit.errors import Forbidden

log = logging.getLogger(__name__)

Fetch = Callable[[], Awaitable[Mapping[uuid.UUID, str]]]
Listener = Callable[[set[uuid.UUID]], None]

CODE = "suspended"


def suspended_error(reason: str) -> Forbidden:
    """What a suspended user is answered, at login and for any token (the reason shown)."""
    return Forbidden(f"your account is suspended: {reason}", code=CODE)


class Suspensions(Background):
    def __init__(self, fetch: Fetch, *, refresh_seconds: float) -> None:
        super().__init__()
        self._fetch = fetch
        self._refresh_seconds = refresh_seconds
        self._reasons: dict[uuid.UUID, str] = {}
        self._listeners: list[Listener] = []
        self._failing = False

    def reason(self, user_id: uuid.UUID) -> str | None:
        """Why the user is suspended, or None if they are not."""
        return self._reasons.get(user_id)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._reasons

    def __len__(self) -> int:
        return len(self._reasons)

    def on_suspended(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def replace(self, reasons: Mapping[uuid.UUID, str]) -> set[uuid.UUID]:
        newly = set(reasons) - set(self._reasons)
        self._reasons = dict(reasons)
        self._tell(newly)
        return newly

    def suspend(self, user_id: uuid.UUID, reason: str) -> None:
        newly = user_id not in self._reasons
        self._reasons[user_id] = reason
        if newly:
            self._tell({user_id})

    def lift(self, user_id: uuid.UUID) -> None:
        self._reasons.pop(user_id, None)

    def _tell(self, newly: set[uuid.UUID]) -> None:
        if not newly:
            return
        for listener in self._listeners:
            try:
                listener(newly)
            except Exception:
                log.exception("a suspension listener failed")

    async def refresh(self) -> bool:
        """Reload the map from the source; False (the last map kept) if it cannot answer."""
        try:
            reasons = await self._fetch()
        except Exception as error:
            if not self._failing:
                log.warning("cannot refresh the suspended users; keeping the last known: %r", error)
            self._failing = True
            return False
        if self._failing:
            log.info("the suspended users can be refreshed again")
        self._failing = False
        self.replace(reasons)
        return True

    async def start(self) -> None:
        self.start_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self._refresh_seconds)
