"""The Postman collection (postman/), run by newman against the whole platform.

The platform runs as deployed: PostgreSQL, Redis, discovery, the gateway, one users
and two competitions instances. The admin is made with the CLI, as an operator would,
and handed to newman. The JUnit report goes to test-artifacts/postman/ for CI to keep.
"""

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import Platform, platform_on_redis, unique

ROOT = Path(__file__).resolve().parents[2]
POSTMAN = ROOT / "postman"
NEWMAN = POSTMAN / "node_modules" / ".bin" / "newman"
REPORT = ROOT / "test-artifacts" / "postman" / "newman.xml"
ADMIN_PASSWORD = "postman admin password"


@pytest.fixture(scope="module")
def deployed(
    tmp_path_factory: pytest.TempPathFactory, make_database: Callable[[str], str]
) -> Iterator[Platform]:
    with platform_on_redis(tmp_path_factory.mktemp("postman"), make_database, "postman") as up:
        yield up


def test_the_postman_collection_passes_through_the_gateway(deployed: Platform) -> None:
    if not NEWMAN.exists():
        pytest.fail("newman is not installed: run `npm ci --prefix postman`")
    admin = unique("admin")
    deployed.create_admin(f"{admin}@example.com", admin, ADMIN_PASSWORD)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(NEWMAN),
        "run",
        str(POSTMAN / "litcomp.postman_collection.json"),
        "--environment",
        str(POSTMAN / "litcomp.postman_environment.json"),
        "--working-dir",  # where the requests' files (fixtures/) are
        str(POSTMAN),
        "--env-var",
        f"base_url={deployed.url}",
        "--env-var",
        f"admin_email={admin}@example.com",
        "--env-var",
        f"admin_password={ADMIN_PASSWORD}",
        "--reporters",
        "cli,junit",
        "--reporter-junit-export",
        str(REPORT),
        "--timeout-request",
        "15000",
        "--color",
        "off",
        "--disable-unicode",
    ]
    env = {**os.environ, "NO_COLOR": "1", "NO_UPDATE_NOTIFIER": "1"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=100)
    output = f"{run.stdout}\n{run.stderr}"
    assert run.returncode == 0, f"newman failed (exit {run.returncode}):\n{output}"
