"""`litcomp up` with embedded defaults (SQLite files under var/), as a newcomer runs it."""

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import PASSWORD, create_competition, free_port, log_in, service_env, sign_up


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    workdir = tmp_path_factory.mktemp("embedded")
    ports = [free_port() for _ in range(4)]
    env = service_env(
        workdir / "var",
        {
            "LITCOMP_USERS_HTTP_PORT": str(ports[0]),
            "LITCOMP_USERS_GRPC_PORT": str(ports[1]),
            "LITCOMP_COMPETITIONS_HTTP_PORT": str(ports[2]),
            "LITCOMP_COMPETITIONS_GRPC_PORT": str(ports[3]),
            "LITCOMP_USERS_GRPC_TARGET": f"127.0.0.1:{ports[1]}",
            "LITCOMP_COMPETITIONS_GRPC_TARGET": f"127.0.0.1:{ports[3]}",
            "LITCOMP_USERS_JWKS_URL": f"http://127.0.0.1:{ports[0]}/users/.well-known/jwks.json",
        },
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "litcomp.cli", "up"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert up.stdout is not None
    deadline = time.monotonic() + 60
    for line in up.stdout:
        if line.startswith("litcomp is up") or time.monotonic() > deadline:
            break
    assert up.poll() is None, "litcomp up exited early"
    yield env, workdir
    up.send_signal(signal.SIGINT)
    assert up.wait(30) == 0
    up.stdout.close()


def test_up_serves_the_whole_walk_on_sqlite(embedded: tuple[dict[str, str], Path]):
    env, workdir = embedded
    users = httpx.Client(base_url=f"http://127.0.0.1:{env['LITCOMP_USERS_HTTP_PORT']}")
    competitions = httpx.Client(
        base_url=f"http://127.0.0.1:{env['LITCOMP_COMPETITIONS_HTTP_PORT']}"
    )
    with users, competitions:
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "litcomp.cli",
                "create-admin",
                "--email",
                "boss@example.com",
                "--username",
                "boss",
                "--password",
                PASSWORD,
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert "created admin: boss" in made.stdout
        admin = log_in(users, "boss@example.com", "boss")
        writer = sign_up(users, "writer")
        competition_id = create_competition(competitions, admin, "Embedded")
        entry = competitions.post(
            f"/competitions/{competition_id}/submit",
            json={"title": "Local", "content": "Stored in SQLite"},
            headers=writer.auth,
        )
        assert entry.status_code == 201
        assert users.post(f"/users/subscribe/{competition_id}", headers=writer.auth).json() == {
            "message": "Subscription successful"
        }
        [mine] = users.get("/users/profile/submissions", headers=writer.auth).json()
        assert mine["content"] == "Stored in SQLite"
        [followed] = users.get("/users/profile/subscriptions", headers=writer.auth).json()
        assert followed["competition_id"] == competition_id
    assert (workdir / "var" / "users.db").exists()
    assert (workdir / "var" / "competitions.db").exists()
    assert (workdir / "var" / "jwt-signing-key.pem").stat().st_mode & 0o077 == 0


def test_create_admin_promotes_an_existing_user(embedded: tuple[dict[str, str], Path]):
    env, workdir = embedded
    with httpx.Client(base_url=f"http://127.0.0.1:{env['LITCOMP_USERS_HTTP_PORT']}") as users:
        member = sign_up(users, "member")
        promoted = subprocess.run(
            [
                sys.executable,
                "-m",
                "litcomp.cli",
                "create-admin",
                "--email",
                member.email,
                "--username",
                member.username,
                "--password",
                PASSWORD,
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert "promoted to admin" in promoted.stdout
        again = log_in(users, member.email, member.username)
        assert users.get("/users/profile", headers=again.auth).json()["role"] == "admin"
        refused = subprocess.run(
            [
                sys.executable,
                "-m",
                "litcomp.cli",
                "create-admin",
                "--email",
                "bad",
                "--username",
                "x",
                "--password",
                "short",
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        )
        assert refused.returncode != 0
        assert "email" in refused.stderr and "password" in refused.stderr


def test_migrate_brings_fresh_databases_up_to_date(tmp_path: Path):
    env = service_env(tmp_path / "var", {})
    run = [sys.executable, "-m", "litcomp.cli", "migrate"]
    migrated = subprocess.run(run, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.splitlines() == [
        "users: database is up to date",
        "competitions: database is up to date",
    ]
    unknown = subprocess.run(
        [*run, "billing"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert unknown.returncode == 2
    assert "unknown service: billing" in unknown.stderr
    bad = subprocess.run(
        run,
        cwd=tmp_path,
        env={**env, "LITCOMP_USERS_DATABASE_URL": "mysql://x"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0
    assert "LITCOMP_USERS_DATABASE_URL" in bad.stderr
