"""What every user of Redis shares: which errors mean it is down."""

import redis.exceptions

# Raised when Redis cannot be reached or does not answer in time. Not the built-in
# ConnectionError and TimeoutError: redis-py has its own.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_outage(error: BaseException) -> bool:
    """Does ``error`` mean Redis is unreachable for now?"""
    return isinstance(error, OUTAGE_ERRORS)
