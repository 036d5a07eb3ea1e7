"""Where a replica's CPU goes: py-spy samples a process while it serves, and each sample
is put in the layer it was in (the frame nearest the leaf that belongs to a known one).

py-spy counts only samples of threads that are running (not waiting on I/O), so the
shares are shares of CPU time. The layers are what issue 18 asks to see: the server,
middleware, dependencies and input validation, the response model, JSON encoding, the
ORM and its driver, Redis, gRPC, token checks, logging and metrics.
"""

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Installed with the dev dependencies, beside the interpreter running the benchmark.
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))

# (layer, markers): a frame belongs to the first layer one of whose markers it contains.
# Checked from the leaf up: time in json.encoder called by the response model is JSON
# encoding, time in the response model's own frames is the response model.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging", ("logging/__init__.py", "pythonjsonlogger", "kit/logging.py")),
    ("metrics", ("prometheus_client", "kit/metrics.py")),
    ("JSON encoding", ("json/encoder.py", "json/__init__.py", "orjson", "fastapi/encoders.py")),
    ("response model", ("serialize_response", "_prepare_response_content", "pydantic/")),
    ("token check", ("jwt/", "kit/auth.py", "cryptography/", "kit/suspensions.py")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("database driver", ("asyncpg/", "aiosqlite/", "sqlite3/")),
    ("Redis", ("redis/",)),
    ("gRPC", ("grpc/", "kit/grpc.py", "google/protobuf")),
    ("dependencies, input", ("fastapi/dependencies/", "fastapi/params.py")),
    ("service code", ("litcomp/competitions/", "litcomp/users/")),
    ("middleware", ("kit/http.py", "starlette/middleware/", "kit/errors.py")),
    ("routing", ("starlette/routing.py", "fastapi/routing.py", "starlette/applications.py")),
    ("server (uvicorn)", ("uvicorn/", "httptools", "starlette/responses.py")),
    ("event loop", ("asyncio/", "uvloop", "anyio/", "contextvars")),
)


def layer_of(stack: list[str]) -> str:
    """The layer of one sample; ``stack`` is its frames, root first."""
    for frame in reversed(stack):
        for layer, markers in LAYERS:
            if any(marker in frame for marker in markers):
                return layer
    return "other"


def shares(collapsed: str) -> dict[str, float]:
    """Each layer's share of the samples in py-spy's collapsed ("raw") output."""
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            counts[layer_of(frames.split(";"))] += int(count)
    total = sum(counts.values()) or 1
    return {layer: counts[layer] / total for layer in (*(n for n, _ in LAYERS), "other")}


def record(pid: int, seconds: float, output: Path, rate: int = 200) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` for ``seconds`` into ``output``; wait on what it returns."""
    command = [PY_SPY, "record", "--pid", str(pid), "--duration", str(round(seconds))]
    command += ["--rate", str(rate), "--format", "raw", "--output", str(output), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
