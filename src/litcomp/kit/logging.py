"""JSON logs, one object per line, each carrying the request id of the work in hand.

The request id lives in a context variable: the HTTP middleware and the gRPC
server interceptor set it from the incoming request, the gRPC client sends it on,
so one id follows a request across every service it touches.
"""

import itertools
import logging
import random
import re
import sys
from contextvars import ContextVar

from pythonjsonlogger.orjson import OrjsonFormatter

REQUEST_ID_HEADER = "x-request-id"

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s\"]+")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


_ID_PREFIX = f"{random.getrandbits(64):016x}"  # this process's
_ID_COUNT = itertools.count()


def new_request_id() -> str:
    """32 hex digits: this process's random prefix, then a count. An id only has to be
    unique, not unguessable, and the gateway makes one for nearly every request it
    proxies: a count is cheaper than 128 random bits, let alone a system call."""
    return _ID_PREFIX + next(_ID_COUNT).to_bytes(8).hex()  # an f-string's "016x": 5x the cost


def accept_request_id(incoming: str | bytes | None) -> str:
    """The caller's request id if it is safe to log and pass on, else a new one."""
    if isinstance(incoming, str) and _SAFE_REQUEST_ID.match(incoming):
        return incoming
    return new_request_id()


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        record.__dict__.pop("color_message", None)  # uvicorn's copy of the message, with ANSI codes
        if isinstance(record.args, tuple) and any("token=" in str(a) for a in record.args):
            # uvicorn logs WebSocket paths with their query, and a token can ride there.
            record.args = tuple(_TOKEN_IN_QUERY.sub(r"\1<redacted>", str(a)) for a in record.args)
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger (ours, uvicorn's, SQLAlchemy's) as JSON to stderr."""
    # Every request logs a line: what no line shows is not gathered (the thread, the
    # process, the caller's file and line), and orjson encodes. ~17 -> ~11 us a line.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # the documented switch that turns findCaller off
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(service))
    handler.setFormatter(
        OrjsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our own middleware logs each request once, with its id; uvicorn's line would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
