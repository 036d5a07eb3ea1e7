"""Password hashing with argon2id, off the event loop (a hash takes ~0.1 s of CPU)."""

from functools import cache

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when an email is unknown, so a wrong email costs the same time
    # as a wrong password and response times do not reveal who has an account.
    return _hasher.hash("not a real password")


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await to_thread.run_sync(_verify, password_hash or _dummy_hash(), password) and (
        password_hash is not None
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
