"""`litcomp up` with embedded defaults (SQLite files under var/), as a newcomer runs it."""

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import (
    PASSWORD,
    create_competition,
    free_port,
    get_json,
    log_in,
    service_env,
    sign_up,
)


@pytest.fixture(scope="module")
def embedded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], Path, str]]:
    """`litcomp up` in an empty folder: discovery, gateway, one users, two competitions."""
    workdir = tmp_path_factory.mktemp("embedded")
    discovery_port, gateway_port = free_port(), free_port()
    env = service_env(
        workdir / "var",
        {
            "LITCOMP_DISCOVERY_PORT": str(discovery_port),
            "LITCOMP_DISCOVERY_URL": f"http://127.0.0.1:{discovery_port}",
            "LITCOMP_GATEWAY_PORT": str(gateway_port),
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
    progress = []
    for line in up.stdout:
        progress.append(line.strip())
        if line.startswith("litcomp is up"):
            break
    assert up.poll() is None, f"litcomp up exited early: {progress}"
    assert progress[-1].startswith(f"litcomp is up at http://127.0.0.1:{gateway_port}")
    yield env, workdir, f"http://127.0.0.1:{gateway_port}"
    up.send_signal(signal.SIGTERM)  # stops the children as Ctrl-C (SIGINT) does
    assert up.wait(30) == 0
    assert up.stdout.read().strip() == "stopping litcomp"
    up.stdout.close()
    assert get_json(f"http://127.0.0.1:{discovery_port}/health") is None


def test_up_serves_the_whole_walk_on_sqlite(embedded: tuple[dict[str, str], Path, str]):
    env, workdir, url = embedded
    users = httpx.Client(base_url=url)
    competitions = httpx.Client(base_url=url)
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
        # SQLite's lower() knows only ASCII; uniqueness and login must not depend on it.
        jorg = {"username": "jorg", "email": "JÖRG@example.com", "password": PASSWORD}
        assert users.post("/users/register", json=jorg).status_code == 201
        twin = {"username": "jorg2", "email": "jörg@example.com", "password": PASSWORD}
        assert users.post("/users/register", json=twin).status_code == 409
        login = users.post("/users/login", json={"email": "JÖRG@example.com", "password": PASSWORD})
        assert login.status_code == 200
    assert (workdir / "var" / "users.db").exists()
    assert (workdir / "var" / "competitions.db").exists()
    assert (workdir / "var" / "jwt-signing-key.pem").stat().st_mode & 0o077 == 0


def test_create_admin_promotes_an_existing_user(embedded: tuple[dict[str, str], Path, str]):
    env, workdir, url = embedded
    with httpx.Client(base_url=url) as users:
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
