"""bench/route_instructions.py's driver, without valgrind: each route it measures answers
from the in-process replica it seeds (so a count it makes is of a real answer)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis

from bench import route_instructions

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"


def drive(route: str, tmp_path: Path, *redis_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **route_instructions.QUIET, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "bench.route_instructions", "--drive", route, "3"]
    return subprocess.run(
        [*command, str(tmp_path), *redis_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.parametrize("route", route_instructions.ROUTES)
def test_the_driver_reads_each_route(route: str, tmp_path: Path) -> None:
    done = drive(route, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count('"message":"request"') == 3  # the log line of each


@pytest.mark.parametrize("route", route_instructions.CACHED_ROUTES)
def test_with_a_cache_the_driver_counts_hits_and_leaves_no_key(route: str, tmp_path: Path) -> None:
    before = run_keys()
    done = drive(route, tmp_path, REDIS_URL)
    assert done.returncode == 0, done.stderr[-2000:]  # it stops unless 2 of 3 were hits
    assert done.stderr.count('"message":"request"') == 3
    assert run_keys() == before


def test_with_a_cache_it_cannot_reach_the_driver_refuses_to_count(tmp_path: Path) -> None:
    done = drive("competition", tmp_path, "redis://127.0.0.1:1/0")
    assert done.returncode != 0
    assert "0 cache hits, not 2" in done.stderr


def run_keys() -> set[bytes]:
    with Redis.from_url(REDIS_URL) as redis:
        return set(redis.keys("litcomp_instructions_*"))
