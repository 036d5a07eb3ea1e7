"""Password hashing with argon2id, off the event loop.

A hash takes ~0.1 s of CPU and 64 MiB of memory, so at most one runs per core at a
time: a flood of logins queues instead of exhausting memory.
"""

import os
from functools import cache

from anyio import CapacityLimiter, to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _limiter() -> CapacityLimiter:
    return CapacityLimiter(os.cpu_count() or 1)


@cache
def _dummy_hash() -> str:
    # Verified against when an email is unknown, so a wrong email costs the same time
    # as a wrong password and response times do not reveal who has an account.
    return _hasher.hash("not a real password")


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password, limiter=_limiter())


async def verify_password(password_hash: str | None, password: str) -> bool:
    """False for a wrong password, and for a missing account (after the same work)."""
    matches = await to_thread.run_sync(_verify, password_hash, password, limiter=_limiter())
    return matches and password_hash is not None


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
