"""bench/route_instructions.py's driver, without valgrind: each route it measures answers
from the in-process replica it seeds (so a count it makes is of a real answer)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import route_instructions

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("route", route_instructions.ROUTES)
def test_the_driver_reads_each_route(route: str, tmp_path: Path) -> None:
    env = {**os.environ, **route_instructions.QUIET, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "bench.route_instructions", "--drive", route, "3"]
    done = subprocess.run(
        [*command, str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count('"message":"request"') == 3  # the log line of each
